// One short, human-readable line per event, written to the output main is given (the process's own streams in the
// bundles; a test's capture when a scenario runs main in the test's process). Every line passes through redaction,
// so a secret registered here (an unseal share, a token) cannot reach the log even through an error message. The list
// is the module's, not a run's: a line written outside a run's own log (an unexpected error caught by `settle`) is
// redacted too.

const secrets: string[] = [];

/** Registers a value that must never be printed. */
export function redact(secret: string): void {
  if (secret.length > 0) secrets.push(secret);
}

function clean(line: string): string {
  let out = line.replace(/\s*\n\s*/g, ' ');
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out;
}

/** Where a run's text goes. */
export interface Output {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** The process's own streams: the scripts' only writes to them (test/project/architecture.cases.ts). */
export const processOutput: Output = {
  stdout: (text) => { process.stdout.write(text); },
  stderr: (text) => { process.stderr.write(text); },
};

/** A run's lines: news and success on stdout, errors and a failed run's outcome on stderr. */
export interface Log {
  readonly log: (line: string) => void;
  readonly logError: (line: string) => void;
}

export function logTo(output: Output): Log {
  return {
    log: (line) => output.stdout(`${clean(line)}\n`),
    logError: (line) => output.stderr(`${clean(line)}\n`),
  };
}

/** The message of anything thrown, on one line. */
export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
