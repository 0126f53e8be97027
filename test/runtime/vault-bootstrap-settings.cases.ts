import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { readBootstrapSettings } from '../../runtime/vault-bootstrap/settings';
import { ageKeyPair } from '../support/age-decrypt';

// The bootstrap's settings as the CronJob gives them: the namespace from POD_NAMESPACE or, as the other scripts, the
// `namespace` file beside the ServiceAccount token; the escrow's recipient required (or "waived"); the plan file
// checked for shape. Each malformed one is one line that names the variable.

const dir = mkdtempSync(join(tmpdir(), 'bootstrap-settings-'));
writeFileSync(join(dir, 'token'), 'a-token');
writeFileSync(join(dir, 'namespace'), 'vault-system\n');
writeFileSync(join(dir, 'plan.json'), JSON.stringify({ kvMounts: [], authMounts: [], policies: [], roles: [], secrets: [], finds: [] }));
writeFileSync(join(dir, 'not-a-plan.json'), '{"kvMounts": []}');
const RECIPIENT = ageKeyPair().recipient;
const env = (extra: Record<string, string | undefined> = {}) => ({
  KUBE_TOKEN_FILE: join(dir, 'token'), BOOTSTRAP_PLAN_FILE: join(dir, 'plan.json'), ESCROW_RECIPIENT: RECIPIENT, ...extra,
});
const failure = (e: Record<string, string | undefined>) => {
  try {
    readBootstrapSettings(e);
  } catch (error) {
    return [(error as { exitCode?: number }).exitCode, (error as Error).message];
  }
  return undefined;
};

test('the namespace comes from POD_NAMESPACE, else from the namespace file beside the token', () => {
  expect(readBootstrapSettings(env()).namespace).toBe('vault-system');
  expect(readBootstrapSettings(env({ POD_NAMESPACE: 'hashicorp' })).namespace).toBe('hashicorp');
});

test('the escrow: a recipient, or "waived"; neither is refused', () => {
  expect(readBootstrapSettings(env()).escrowRecipient).toBe(RECIPIENT);
  expect(readBootstrapSettings(env({ ESCROW_RECIPIENT: 'waived' })).escrowRecipient).toBeUndefined();
  expect(failure(env({ ESCROW_RECIPIENT: undefined }))).toEqual([2, expect.stringMatching(/^invalid ESCROW_RECIPIENT: got "", expected an age recipient \(age1\.\.\.\) or "waived"/)]);
  expect(failure(env({ ESCROW_RECIPIENT: 'age1xyz' }))).toEqual([2, expect.stringMatching(/^invalid ESCROW_RECIPIENT: got "age1xyz", expected an age recipient: /)]);
});

test.each([
  ['a threshold of 1 with 5 shares', { BOOTSTRAP_THRESHOLD: '1' }, /^invalid BOOTSTRAP_THRESHOLD: got "1", expected 2 or more with 5 shares/],
  ['more threshold than shares', { BOOTSTRAP_SHARES: '3', BOOTSTRAP_THRESHOLD: '4' }, /^invalid BOOTSTRAP_THRESHOLD: got "4", expected a whole number from 1 to 3/],
  ['an unknown mode', { BOOTSTRAP_MODE: 'sync' }, /^invalid BOOTSTRAP_MODE: got "sync", expected apply or report/],
  ['a plan without its lists', { BOOTSTRAP_PLAN_FILE: join(dir, 'not-a-plan.json') }, /has no list "authMounts": synthesize again/],
  ['no plan file', { BOOTSTRAP_PLAN_FILE: join(dir, 'absent.json') }, /^cannot read the desired configuration at .* \(ENOENT\): set BOOTSTRAP_PLAN_FILE or mount it/],
])('%s: exit 2, one line naming it', (_what, extra, message) => {
  expect(failure(env(extra))).toEqual([2, expect.stringMatching(message)]);
});
