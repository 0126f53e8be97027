// One short, human-readable line per event. Every line passes through redaction, so a secret registered here (an
// unseal share, a token) cannot reach the log even through an error message.

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

export function log(line: string): void {
  process.stdout.write(`${clean(line)}\n`);
}

export function logError(line: string): void {
  process.stderr.write(`${clean(line)}\n`);
}

/** The message of anything thrown, on one line. */
export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
