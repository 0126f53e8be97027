import { PassThrough } from 'stream';
import { Io } from '../../runtime/common/io';
import { logTo } from '../../runtime/common/log';
import { settle } from '../../runtime/common/main';
import { HANG_LIMIT_MS, Run, RunOptions, runNode, scriptFromDist } from './run-script';

// A script's main run in the test's own process, for the scenario tables: a new Node.js process per scenario made
// `npm test` take several times as long (docs/development.md). Each run is given an io of its own (its output, and the
// stand-ins its scenario needs), so runs at the same time do not mix; there is no process to exit or to signal.
// `start` (signals, the empty event loop, the exit) and each script's bundle as dist/ ships it are tested as processes
// with `runNode`.

export interface InProcessOptions extends RunOptions {
  /** Gets the run's output streams as it starts, to watch what it writes. */
  readonly onStart?: (output: { stdout: PassThrough; stderr: PassThrough }) => void;
  /** In place of the process's own name lookup or free space (fake-dns.js, fake-statfs.ts). */
  readonly io?: Pick<Io, 'lookup' | 'statfs'>;
}

/**
 * Runs `main` with `env` in this process and returns what `node <script>` would show: the exit code main settles
 * with (a main that throws is exit 1 with the reason, as `start` makes it), and what it wrote. A run still going after
 * `limitMs` is reported with code null (a hang; it cannot be killed, only abandoned).
 */
export async function runInProcess(
  main: (env: Record<string, string>, io: Io) => Promise<number>, env: Record<string, string>, options: InProcessOptions = {},
): Promise<Run> {
  // `npm run bench -- devices` measures what running in process saves: each run also pays a process's start-up and a
  // bundled script's load (dist's unseal script, stopped at once by a timeout it refuses).
  if (process.env.HOMELAB_BENCH_PROCESS_PER_RUN === '1') await runNode(scriptFromDist('vault-auto-unseal-script'), { VAULT_TIMEOUT_SECONDS: 'none' });
  const streams = { stdout: new PassThrough(), stderr: new PassThrough() };
  let stdout = '';
  let stderr = '';
  streams.stdout.on('data', (c) => { stdout += c; });
  streams.stderr.on('data', (c) => { stderr += c; });
  options.onStart?.(streams);
  const io: Io = { ...options.io, stdout: (text) => { streams.stdout.write(text); }, stderr: (text) => { streams.stderr.write(text); } };
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    settle(() => main({ ...env }, io), logTo(io)),
    new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), options.limitMs ?? HANG_LIMIT_MS); }),
  ]);
  clearTimeout(timer);
  const exitedAt = Date.now();
  // Lets the last writes reach the strings, as a process's pipes are drained before its exit is reported.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout, stderr, ms: exitedAt - start, exitedAt };
}
