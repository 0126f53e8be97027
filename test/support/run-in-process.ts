import { AsyncLocalStorage } from 'async_hooks';
import type * as Dns from 'dns';
import type * as Fs from 'fs';
import { PassThrough } from 'stream';
import { settle } from '../../runtime/common/main';
import { HANG_LIMIT_MS, Run, RunOptions } from './run-script';

// A script's main run in the test's own process, for the scenario tables: a new Node.js process costs some 50 ms of CPU
// here, and the suite runs hundreds of scenarios. What differs from `node <script>`: the run's output and the fakes of
// fake-dns.js and fake-statfs.js are routed to it through an AsyncLocalStorage (so concurrent runs do not mix), and
// there is no process to exit or to signal. `start` (signals, the empty event loop, the exit) and each script's bundle
// as dist/ ships it are tested as processes with `runNode`.

/** What one run sees in place of a process of its own. */
interface RunContext {
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
  readonly lookup?: typeof Dns.lookup;
  readonly statfsSync?: typeof Fs.statfsSync;
}

/**
 * Installed once per jest worker: its test files share the output streams and the core modules, while each has a
 * `process` object and module copies of its own, so the routing hangs on the dns module itself. Each door is routed
 * again whenever something has since put another function in its place: jest restores every spy when a file ends, to
 * what it replaced, which can be the function from before the routing.
 */
const KEY = Symbol.for('homelab-secrets.run-in-process');
/** Marks the storage the test environment leaves enabled when a file ends (test/support/environment.js). */
const WORKER_WIDE = Symbol.for('homelab-secrets.worker-wide');
type Shared = { current: AsyncLocalStorage<RunContext>; routed: Map<string, unknown>; statfsSync: typeof Fs.statfsSync };

// The modules themselves, not import's read-only views of them: the script's code calls through them.
const dns: typeof Dns = require('dns');
const fs: typeof Fs = require('fs');

function workerWide<T extends object>(storage: T): T {
  return Object.defineProperty(storage, WORKER_WIDE, { value: true });
}

/** Puts `make(the function there now)` in `object[key]`, unless the routing put there last is still there. */
function route(installed: Shared, label: string, object: any, key: string, make: (previous: any) => unknown): void {
  if (installed.routed.get(label) === object[key]) return;
  const routed = make(object[key]);
  object[key] = routed;
  installed.routed.set(label, routed);
}

function shared(): Shared {
  const holder = dns as unknown as Record<symbol, Shared | undefined>;
  const installed = holder[KEY] ?? (holder[KEY] = { current: workerWide(new AsyncLocalStorage<RunContext>()), routed: new Map(), statfsSync: fs.statfsSync });
  const { current } = installed;
  for (const name of ['stdout', 'stderr'] as const) {
    route(installed, `${name}.write`, process[name], 'write', (write) => function routed(this: unknown, chunk: any, ...rest: any[]): boolean {
      const run = current.getStore();
      return run ? run[name].write(chunk, ...rest) : write.apply(this, [chunk, ...rest]);
    });
  }
  route(installed, 'dns.lookup', dns, 'lookup', (lookup) => function routed(this: unknown, ...args: any[]) {
    return (current.getStore()?.lookup ?? lookup).apply(this, args);
  });
  route(installed, 'fs.statfsSync', fs, 'statfsSync', (statfsSync) => function routed(this: unknown, ...args: any[]) {
    return (current.getStore()?.statfsSync ?? statfsSync).apply(this, args);
  });
  return installed;
}

export interface InProcessOptions extends RunOptions {
  /** Gets the run's output streams as it starts, to watch what it writes. */
  readonly onStart?: (output: { stdout: PassThrough; stderr: PassThrough }) => void;
  /** Resolves names as fake-dns.js does, from its variables in the run's env. */
  readonly fakeDns?: boolean;
  /** Reports free space as fake-statfs.js does, from its variables in the run's env. */
  readonly fakeStatfs?: boolean;
}

/**
 * Runs `main` with `env` in this process and returns what `node <script>` would show: the exit code main settles
 * with (a main that throws is exit 1 with the reason, as `start` makes it), and what it wrote. A run still going after
 * `limitMs` is reported with code null (a hang; it cannot be killed, only abandoned).
 */
export async function runInProcess(main: (env: Record<string, string>) => Promise<number>, env: Record<string, string>, options: InProcessOptions = {}): Promise<Run> {
  const { current, statfsSync } = shared();
  const context: RunContext = {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    lookup: options.fakeDns ? (require('./fake-dns.js').fakeLookup(env) as typeof Dns.lookup) : undefined,
    statfsSync: options.fakeStatfs ? (require('./fake-statfs.js').fakeStatfsSync(env, statfsSync) as typeof Fs.statfsSync) : undefined,
  };
  let stdout = '';
  let stderr = '';
  context.stdout.on('data', (c) => { stdout += c; });
  context.stderr.on('data', (c) => { stderr += c; });
  options.onStart?.({ stdout: context.stdout, stderr: context.stderr });
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    current.run(context, () => settle(() => main({ ...env }))),
    new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), options.limitMs ?? HANG_LIMIT_MS); }),
  ]);
  clearTimeout(timer);
  const exitedAt = Date.now();
  // Lets the last writes reach the strings, as a process's pipes are drained before its exit is reported.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout, stderr, ms: exitedAt - start, exitedAt };
}
