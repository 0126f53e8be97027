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

/** The longest line a run writes: a log shipper may split a longer one, and nobody reads it. */
export const MAX_LINE_CHARS = 4000;

/** At most `max` characters of `text`, and how many more there were. */
export function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}

function clean(line: string): string {
  let out = line.replace(/\s*\n\s*/g, ' ');
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  // Cut only after redaction: a cut through a secret would leave a piece of it that no longer matches.
  return bounded(out, MAX_LINE_CHARS);
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
