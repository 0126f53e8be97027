// The operator's terminal, for write-secrets: each value asked for without echo (the prompt on stderr), or, when stdin is
// a pipe, one JSON object read whole ({"<path>": {"<field>": "<value>"}}). The one file of the tool that touches the
// process's own streams: a prompt is a door by nature.
import { createInterface } from 'readline';
import { Log } from '../../runtime/common/log';
import { DesiredSecret } from '../../runtime/common/vault-config/desired';

/** Values by secret path (`<mount>/<key>`), then field. */
export type Values = Record<string, Record<string, string>>;

/** The values from a terminal, without echo; from a pipe, one JSON object. */
export async function askValues(secrets: DesiredSecret[], out: Log): Promise<Values> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    return JSON.parse(text) as Values;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  let hidden = false;
  muted._writeToOutput = (s: string) => { if (!hidden) muted.output.write(s); };
  const ask = (question: string) => new Promise<string>((resolve) => {
    process.stderr.write(question);
    hidden = true;
    rl.question('', (answer) => { hidden = false; process.stderr.write('\n'); resolve(answer); });
  });
  const values: Values = {};
  for (const secret of secrets) {
    const path = `${secret.mount}/${secret.key}`;
    const fields: Record<string, string> = {};
    const names = secret.fields.length > 0 ? secret.fields : [];
    out.log(`${path} (read by ${secret.readers.join(', ')})${names.length === 0 ? ': read whole; give each field, an empty name to finish' : ''}`);
    for (const field of names) fields[field] = await ask(`  ${field}: `);
    while (names.length === 0) {
      hidden = false;
      const field = await new Promise<string>((resolve) => rl.question('  field name: ', resolve));
      if (field.trim() === '') break;
      fields[field.trim()] = await ask(`  ${field.trim()}: `);
    }
    values[path] = fields;
  }
  rl.close();
  return values;
}

