import { log, logError, redact } from '../../../runtime/common/log';

test('a registered secret never reaches stdout or stderr, and every line is one line', () => {
  const out: string[] = [];
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation((s: any) => { out.push(String(s)); return true; }),
    jest.spyOn(process.stderr, 'write').mockImplementation((s: any) => { out.push(String(s)); return true; }),
  ];
  try {
    redact('s3cr3t-share');
    log('sent s3cr3t-share to vault');
    logError('vault said:\n  bad key s3cr3t-share');
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
  expect(out).toEqual(['sent [redacted] to vault\n', 'vault said: bad key [redacted]\n']);
});
