import { logTo, redact } from '../../../runtime/common/log';
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
