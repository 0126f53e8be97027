import { logTo, MAX_LINE_CHARS, redact } from '../../../runtime/common/log';
import { runInProcess } from '../../support/run-in-process';

test('a registered secret never reaches stdout or stderr, and every line is one line', async () => {
  const run = await runInProcess(async (_env, io) => {
    const { log, logError } = logTo(io);
    redact('s3cr3t-share');
    log('sent s3cr3t-share to vault');
    logError('vault said:\n  bad key s3cr3t-share');
    return 0;
  }, {});
  expect({ stdout: run.stdout, stderr: run.stderr }).toEqual({ stdout: 'sent [redacted] to vault\n', stderr: 'vault said: bad key [redacted]\n' });
});

test('no line is longer than MAX_LINE_CHARS, and the cut comes after redaction', async () => {
  const secret = 'a-test-secret-that-straddles-the-cut';
  const at = MAX_LINE_CHARS - 5;
  const run = await runInProcess(async (_env, io) => {
    redact(secret);
    logTo(io).log(`${'y'.repeat(at)}${secret}`);
    return 0;
  }, {});
  const line = run.stdout.replace(/\n$/, '');
  expect(line).toBe(`${'y'.repeat(at)}[reda... (5 more characters)`);
  expect(line).not.toContain(secret.slice(0, 10));
});
