import { mkdtempSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { needsHuman, outcomeOf } from '../../runtime/common/failure';
import { HttpResponse } from '../../runtime/common/http';
import { VaultApi } from '../../runtime/common/vault';
import { readShares, readUnsealSettings } from '../../runtime/unseal';
import { attemptUnseal, Share } from '../../runtime/unseal/attempt';
import { secretDir } from '../support/run-script';

const ok = (json: object): HttpResponse => ({ status: 200, json });
const status = (sealed: boolean, progress = 0, t = 1) => ok({ initialized: true, sealed, progress, t, n: 5 });
const sealed = (progress = 0, t = 1) => status(true, progress, t);
const unsealed = () => status(false);

function api(answers: Partial<Record<'sealStatus' | 'unseal', HttpResponse[] | Error>>, port?: Error): VaultApi & { sent: unknown[] } {
  const sent: unknown[] = [];
  const next = (name: 'sealStatus' | 'unseal') => async () => {
    const a = answers[name];
    if (a instanceof Error) throw a;
    return a!.shift()!;
  };
  return {
    addr: 'http://vault:8200', sent,
    checkPort: async () => { if (port) throw port; },
    sealStatus: next('sealStatus'),
    unseal: async (body) => { sent.push('key' in body ? body.key : body); return next('unseal')(); },
    health: async () => { throw new Error('not used'); },
  };
}
const shares = (...values: string[]): (() => Share[]) => () => values.map((value, i) => ({ name: `key${i + 1}`, value }));

describe('attemptUnseal', () => {
  test('unsealed: done, exit 0, nothing sent', async () => {
    const vault = api({ sealStatus: [unsealed()] });
    expect(await attemptUnseal(vault, shares('a'))).toEqual({ done: true, exitCode: 0, message: 'vault at http://vault:8200 is unsealed' });
    expect(vault.sent).toEqual([]);
  });

  test('sealed: sends shares until unsealed, then stops', async () => {
    const vault = api({ sealStatus: [sealed(0, 2)], unseal: [sealed(1, 2), unsealed(), unsealed()] });
    const outcome = await attemptUnseal(vault, shares('a', 'b', 'c'));
    expect(outcome).toMatchObject({ done: true, exitCode: 0 });
    expect(vault.sent).toEqual(['a', 'b']);
  });

  test('port unreachable or a call failing: retry', async () => {
    expect(await attemptUnseal(api({}, new Error('port closed')), shares('a'))).toEqual({ done: false, exitCode: 1, message: 'port closed' });
    expect(await attemptUnseal(api({ sealStatus: new Error('timed out') }), shares('a'))).toMatchObject({ done: false, message: 'timed out' });
  });

  test('a server error: retry with the status', async () => {
    const outcome = await attemptUnseal(api({ sealStatus: [{ status: 503, json: { errors: ['standby'] } }] }), shares('a'));
    expect(outcome).toEqual({ done: false, exitCode: 1, message: 'GET /v1/sys/seal-status answered HTTP 503: standby' });
    const unsealing = await attemptUnseal(api({ sealStatus: [sealed()], unseal: [{ status: 500, json: undefined }] }), shares('a'));
    expect(unsealing).toMatchObject({ done: false, message: 'PUT /v1/sys/unseal answered HTTP 500' });
  });

  test('not initialized, either answer: done, exit 2, no share sent', async () => {
    for (const answer of [ok({ initialized: false, sealed: true }), { status: 400, json: { errors: ['server is not yet initialized'] } }]) {
      const vault = api({ sealStatus: [answer] });
      expect(await attemptUnseal(vault, shares('a'))).toMatchObject({ done: true, exitCode: 2, message: expect.stringContaining('vault operator init') });
      expect(vault.sent).toEqual([]);
    }
  });

  test('a rejected set: done, exit 2, blaming the set, since Vault checks shares only together', async () => {
    const vault = api({ sealStatus: [sealed(0, 2)], unseal: [sealed(1, 2), { status: 400, json: { errors: ['Unseal failed, invalid key'] } }] });
    expect(await attemptUnseal(vault, shares('a', 'b'))).toEqual({
      done: true, exitCode: 2,
      message: 'vault rejected the 2 shares submitted: Unseal failed, invalid key: check that the Secret vault-unseal-key holds this Vault\'s shares',
    });
  });

  test('a share Vault rejects alone (its encoding or length): done, exit 2, naming its key', async () => {
    const vault = api({ sealStatus: [sealed(0, 2)], unseal: [{ status: 400, json: { errors: ["'key' must be a valid hex or base64 string"] } }] });
    expect(await attemptUnseal(vault, shares('a!', 'b'))).toMatchObject({
      done: true, exitCode: 2, message: expect.stringMatching(/^vault rejected the share in key "key1": 'key' must be a valid hex/),
    });
  });

  test('progress the run did not make: reset first, then the shares', async () => {
    const vault = api({ sealStatus: [sealed(1, 2)], unseal: [sealed(0, 2), sealed(1, 2), unsealed()] });
    const said: string[] = [];
    expect(await attemptUnseal(vault, shares('a', 'b'), 'vault-unseal-key', (line) => said.push(line))).toMatchObject({ done: true, exitCode: 0 });
    expect(vault.sent).toEqual([{ reset: true }, 'a', 'b']);
    expect(said).toEqual(['vault held unseal progress 1 of 2 from an earlier attempt: reset it']);
  });

  test.each<[string, HttpResponse]>([
    ['HTML', { status: 200, json: undefined }],
    ['{}', ok({})],
    ['sealed as a string', ok({ initialized: true, sealed: 'false', t: 1, n: 1 })],
    ['no threshold', ok({ initialized: true, sealed: true })],
  ])('a seal status that is not well-formed (%s): retry, exit 1, no share sent', async (_case, answer) => {
    const vault = api({ sealStatus: [answer] });
    expect(await attemptUnseal(vault, shares('a'))).toMatchObject({ done: false, exitCode: 1, message: expect.stringContaining('not Vault\'s seal status') });
    expect(vault.sent).toEqual([]);
  });

  test('fewer distinct shares than the threshold: done, exit 2, nothing sent and a human\'s progress kept', async () => {
    // The same share in hex and in base64 is one share, as Vault decodes them.
    for (const held of [['a', 'b'], ['a', 'a', 'b'], ['0a0b0c', 'CgsM', 'b']]) {
      const vault = api({ sealStatus: [sealed(1, 3)] });
      expect(await attemptUnseal(vault, shares(...held))).toEqual({
        done: true, exitCode: 2,
        message: 'the Secret vault-unseal-key holds 2 distinct shares and vault needs 3: nothing sent, nothing reset; add shares to the Secret, or unseal by hand',
      });
      expect(vault.sent).toEqual([]);
    }
  });

  test('a full set accepted and Vault still sealed with progress 0 (a Raft join unsealing in the background): polled until unsealed', async () => {
    const vault = api({ sealStatus: [sealed(0, 3), sealed(0, 3), unsealed()], unseal: [sealed(1, 3), sealed(2, 3), sealed(0, 3)] });
    expect(await attemptUnseal(vault, shares('a', 'b', 'c', 'd'), 'vault-unseal-key', () => undefined, () => 60_000)).toEqual({
      done: true, exitCode: 0, message: 'vault at http://vault:8200 unsealed with 3 shares (it finished unsealing in the background)',
    });
    // The fourth share is never sent: it would start a new progress on a Vault that is already unsealing.
    expect(vault.sent).toEqual(['a', 'b', 'c']);
  });

  test('a background unseal not done when the run has no time left: exit 1 (not yet), not the shares\' fault', async () => {
    const vault = api({ sealStatus: [sealed(0, 3)], unseal: [sealed(1, 3), sealed(2, 3), sealed(0, 3)] });
    const outcome = await attemptUnseal(vault, shares('a', 'b', 'c'));
    expect(outcome).toEqual({
      done: false, exitCode: 1,
      message: 'vault at http://vault:8200 accepted 3 shares and is still unsealing in the background (a Raft node finishing its join): not yet, the next attempt checks again',
    });
    expect(vault.sent).toEqual(['a', 'b', 'c']);
  });

  test('a share held under two keys is sent once', async () => {
    const vault = api({ sealStatus: [sealed(0, 2)], unseal: [sealed(1, 2), unsealed()] });
    expect(await attemptUnseal(vault, shares('a', 'a', 'b'))).toMatchObject({ done: true, exitCode: 0 });
    expect(vault.sent).toEqual(['a', 'b']);
  });

  test('no shares: done, exit 2', async () => {
    const vault = api({ sealStatus: [sealed()] });
    const outcome = await attemptUnseal(vault, () => { throw needsHuman('no unseal keys in /keys'); });
    expect(outcome).toEqual({ done: true, exitCode: 2, message: 'no unseal keys in /keys' });
  });
});

describe('readShares', () => {
  test('reads every key of a mounted Secret, following its links, skipping ..data and the timestamped directory', () => {
    const dir = secretDir({ b: 'share-b\n', a: '  share-a ', empty: '' });
    expect(readShares(dir, 'vault-unseal-key')).toEqual([{ name: 'a', value: 'share-a' }, { name: 'b', value: 'share-b' }]);
  });

  test('a missing or empty directory is an error naming it', () => {
    expect(() => readShares('/nonexistent/keys', 'unseal')).toThrow('cannot read unseal keys from /nonexistent/keys (ENOENT): mount the Secret unseal there');
    const empty = mkdtempSync(join(tmpdir(), 'keys-'));
    expect(() => readShares(empty, 'unseal')).toThrow(`no unseal keys in ${empty}: the Secret unseal is missing or empty`);
  });

  // EACCES needs a user other than root, which a test run as root cannot be; a key that cannot be read for another
  // reason (a link to itself, a link whose target is gone) takes the same way out.
  test.each([
    ['a link to itself', 'ELOOP', (dir: string) => symlinkSync('loop', join(dir, 'loop'))],
    ['a link whose target is gone', 'ENOENT', (dir: string) => symlinkSync(join(dir, 'gone'), join(dir, 'loop'))],
  ])('a key that cannot be read (%s) is a human\'s fix, exit 2, naming the key, not the path', (_what, code, make) => {
    const dir = secretDir({ key1: 'share-one' });
    make(dir);
    const error = captured(() => readShares(dir, 'vault-unseal-key'));
    expect(outcomeOf(error)).toMatchObject({ exitCode: 2 });
    expect((error as Error).message).toBe(`cannot read the share in key "loop" of the Secret vault-unseal-key (${code}): `
      + 'check the volume\'s defaultMode and the pod\'s user and fsGroup');
  });

  test('several shares pasted into one key are named as such, never counted as one share, and never shown', () => {
    const pasted = ['aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66', 'Zm9vYmFyYmF6cXV4cXV1eGZvb2Jhcg==', 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100'];
    const dir = secretDir({ key1: `${pasted.join('\n')}\n` });
    const error = captured(() => readShares(dir, 'vault-unseal-key'));
    expect(outcomeOf(error)).toMatchObject({ exitCode: 2 });
    expect((error as Error).message).toBe('key "key1" of the Secret vault-unseal-key holds 3 lines, not one share: '
      + 'put each share under a key of its own');
    for (const share of pasted) expect((error as Error).message).not.toContain(share.slice(0, 16));
  });
});

function captured(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

test('settings default to the in-cluster values', () => {
  expect(readUnsealSettings({})).toEqual({
    vaultAddr: 'http://vault.security.svc.cluster.local:8200', keysDir: '/vault/unseal-keys', secretName: 'vault-unseal-key',
    timeoutMs: 5000, windowMs: 40000, intervalMs: 3000, deadlineMs: 50000,
  });
});
