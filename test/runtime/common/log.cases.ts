import { log, logError, redact } from '../../../runtime/common/log';
import { runInProcess } from '../../support/run-in-process';

test('a registered secret never reaches stdout or stderr, and every line is one line', async () => {
  const run = await runInProcess(async () => {
    redact('s3cr3t-share');
    log('sent s3cr3t-share to vault');
    logError('vault said:\n  bad key s3cr3t-share');
    return 0;
  }, {});
  expect({ stdout: run.stdout, stderr: run.stderr }).toEqual({ stdout: 'sent [redacted] to vault\n', stderr: 'vault said: bad key [redacted]\n' });
});

// Jest restores each spy when a file ends, to the write it replaced: when that was the write from before the in-process
// runner routed the streams, every later run in the worker lost its output. The runner wraps the stream again.
test('a run still gets its own output after the stream\'s write was put back as it was before the routing', async () => {
  expect((await runInProcess(async () => { log('first'); return 0; }, {})).stdout).toBe('first\n');
  const routed = process.stdout.write;
  process.stdout.write = Object.getPrototypeOf(process.stdout).write;
  try {
    expect((await runInProcess(async () => { log('second'); return 0; }, {})).stdout).toBe('second\n');
  } finally {
    process.stdout.write = routed;
  }
});
