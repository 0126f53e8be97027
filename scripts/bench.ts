// `npm run bench`: figures on this machine, as medians over RUNS runs (default 7). A benchmark, not a test: it prints
// figures and fails only when a command fails. Needs GNU time (/usr/bin/time) for peak memory.
import { spawn } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { root } from '../build/bundle';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { bundleRuntime } from '../lib/runtime-bundle';
import { FakeRaftSnapshot } from '../test/support/fake-raft-snapshot';
import { loadavg, tmpdir } from 'os';
import { FakeKube } from '../test/support/fake-kube';
import { closedPort, FakeVault } from '../test/support/fake-vault';
import { scriptFromDist, secretDir } from '../test/support/run-script';
import { benchRollout } from './bench-rollout';
import { measureDevices } from './bench-devices';

const runs = Number(process.env.RUNS ?? 7);
const env = { ...process.env, CDK8S_CHECK_UPGRADE: 'false' };
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

interface Sample { seconds: number; maxRssKb: number; exitedAt: number; /** user + system CPU seconds, the command's and its children's. */ cpuSeconds: number; code: number | null }

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs a command under GNU time; resolves with its wall time, peak resident memory and CPU time. */
function measure(command: string, args: string[], extraEnv: Record<string, string> = {}, expectCode: number | null = 0): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', command, ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (expectCode !== null && code !== expectCode) return reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      if (expectCode === null && code !== 0) {
        const failed = [...stderr.matchAll(/^ {2}● (.*)$/gm)].map((m) => `\n    ${m[1]}`).join('');
        console.error(`  (${command} exited ${code}: ${stderr.match(/^Tests: .*$/m)?.[0] ?? ''}${failed})`);
      }
      // GNU time's line is the last; a command killed by a signal has "Command terminated by signal N" before it.
      const [maxRssKb, user, system] = stderr.trim().split('\n').pop()!.split(' ').map(Number);
      resolve({ seconds, maxRssKb, exitedAt: Date.now(), cpuSeconds: user + system, code });
    });
  });
}

async function repeat(command: string, args: string[], extraEnv?: Record<string, string>): Promise<{ seconds: number; mb: number }> {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measure(command, args, extraEnv));
  return { seconds: median(samples.map((s) => s.seconds)), mb: median(samples.map((s) => s.maxRssKb)) / 1024 };
}

const row = (name: string, value: string) => console.log(`  ${name.padEnd(58)} ${value}`);

async function synthesis(): Promise<void> {
  // Each measured beside its baseline in the same run, so that a busy machine slows both.
  const floor = await repeat(process.execPath, ['-e', '0']);
  const synth = await repeat(process.execPath, ['scripts/synth.js']);
  const synthAll = await repeat(process.execPath, ['scripts/synth.js', '--all']);
  const npmSynth = await repeat('npm', ['run', '-s', 'synth']);
  const cdk8sSynth = await repeat(bin('cdk8s'), ['synth']);
  console.log(`synthesis, median of ${runs} runs (wall seconds):`);
  row('node -e 0', floor.seconds.toFixed(3));
  row('node scripts/synth.js', `${synth.seconds.toFixed(3)} (${(synth.seconds / floor.seconds).toFixed(2)}x node -e 0; goal <= 3x)`);
  row('node scripts/synth.js --all (dist/ and every example)', synthAll.seconds.toFixed(3));
  row('npm run synth (the same, with npm\'s start-up)', npmSynth.seconds.toFixed(3));
  row('cdk8s synth', cdk8sSynth.seconds.toFixed(3));
}

async function tests(): Promise<void> {
  const npmTest = await repeat('npm', ['test', '--', '--silent']);
  console.log(`\ntests, median of ${runs} runs (wall seconds):`);
  row('npm test (tsc --build, then jest)', `${npmTest.seconds.toFixed(2)} (goal <= 12)`);
}

/** Wall and CPU seconds of commands run one after the other, and whether one failed (its time still counts). */
async function runSteps(steps: ReadonlyArray<readonly string[]>, extraEnv: Record<string, string>): Promise<{ seconds: number; cpuSeconds: number; failed: boolean }> {
  const total = { seconds: 0, cpuSeconds: 0, failed: false };
  for (const [command, ...args] of steps) {
    const sample = await measure(command, args, extraEnv, null);
    total.seconds += sample.seconds;
    total.cpuSeconds += sample.cpuSeconds;
    total.failed ||= sample.code !== 0;
  }
  return total;
}

async function devices(): Promise<void> {
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
  const loadBefore = load();
  const results = await measureDevices(runs, runSteps, median);
  const [base] = results;
  // "saved": the share of the suite's time without the device that the device takes away.
  const saved = (value: number, baseline: number) => (value === baseline ? '' : ` (${(((value - baseline) / value) * 100).toFixed(0)}% saved)`);
  console.log(`\nthe suite's speed devices, median of ${runs} runs each, taking turns (load average before ${loadBefore}, after ${load()}):`);
  row('', `${'wall s'.padEnd(20)} CPU s (user + system)`);
  for (const r of results) {
    const failures = r.failed > 0 ? ` [${r.failed} of ${runs} runs failed a test]` : '';
    row(r.name, `${`${r.seconds.toFixed(2)}${saved(r.seconds, base.seconds)}`.padEnd(20)} ${r.cpuSeconds.toFixed(2)}${saved(r.cpuSeconds, base.cpuSeconds)}${failures}`);
  }
}

async function unseal(): Promise<void> {
  const script = scriptFromDist('vault-auto-unseal-script');
  const keys = secretDir({ key: 'c2hhcmUtMQ==' });
  const floor = await repeat(process.execPath, ['-e', '0']);
  const vault = await new FakeVault({ sealed: false }).start();
  const healthy = await repeat(process.execPath, [script], { VAULT_ADDR: vault.url, VAULT_UNSEAL_KEYS_DIR: keys });
  await vault.stop();

  // Mid-run: the port opens while a run waits; time from the port opening to the run's exit, unsealed.
  const gaps: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await closedPort();
    const running = measure(process.execPath, [script], {
      VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_UNSEAL_KEYS_DIR: keys, RETRY_INTERVAL_SECONDS: '3', RETRY_WINDOW_SECONDS: '40',
    });
    await new Promise((r) => setTimeout(r, 500 + (i * 2500) / runs));
    const sealed = await new FakeVault({ shares: ['c2hhcmUtMQ=='], port }).start();
    const sample = await running;
    gaps.push((sample.exitedAt - sealed.listeningAt) / 1000);
    await sealed.stop();
  }
  console.log(`\nvault-auto-unseal, median of ${runs} runs:`);
  row('bundle size (dist/)', `${readFileSync(script).length} bytes`);
  row('run against an unsealed Vault: wall / peak RSS', `${healthy.seconds.toFixed(3)} s / ${healthy.mb.toFixed(1)} MB`);
  row('node -e 0: wall / peak RSS', `${floor.seconds.toFixed(3)} s / ${floor.mb.toFixed(1)} MB`);
  row('run / node -e 0 (wall)', `${(healthy.seconds / floor.seconds).toFixed(2)}x`);
  row('port opens -> unsealed (interval 3 s), median / max', `${median(gaps).toFixed(2)} s / ${Math.max(...gaps).toFixed(2)} s`);
}

async function recovery(): Promise<void> {
  const script = scriptFromDist('eso-recovery-script');
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
  writeFileSync(tokenFile, 'bench-token');
  const externalSecrets = () => ({ 'db/postgres-secret': { ready: false }, 'monitoring/grafana-admin': { ready: false } });
  const listed = 'db/postgres-secret,monitoring/grafana-admin';
  const floor = await repeat(process.execPath, ['-e', '0']);
  const vault = await new FakeVault({ sealed: false }).start();
  const ready = { 'db/postgres-secret': { ready: true }, 'monitoring/grafana-admin': { ready: true } };
  const kube = await new FakeKube({ token: 'bench-token', store: { ready: true }, externalSecrets: ready }).start();
  const kubeEnv = { KUBE_API_URL: kube.url, KUBE_TOKEN_FILE: tokenFile, ESO_EXTERNAL_SECRETS: listed };
  const healthy = await repeat(process.execPath, [script], { VAULT_ADDR: vault.url, ...kubeEnv });
  await Promise.all([vault.stop(), kube.stop()]);

  // Mid-run: Vault becomes ready while a run waits with the store degraded; time from ready to the store's wake-up,
  // and from the store turning Ready (the stand-in's ESO re-checks it 50 ms after the wake-up) to the first
  // ExternalSecret's.
  const toStore: number[] = [];
  const toSecrets: number[] = [];
  for (let i = 0; i < runs; i++) {
    const sealed = await new FakeVault({ sealed: true }).start();
    const api = await new FakeKube({ token: 'bench-token', store: { ready: false }, externalSecrets: externalSecrets() }).start();
    const running = measure(process.execPath, [script], {
      VAULT_ADDR: sealed.url, KUBE_API_URL: api.url, KUBE_TOKEN_FILE: tokenFile, ESO_EXTERNAL_SECRETS: listed,
      RETRY_INTERVAL_SECONDS: '3', RETRY_WINDOW_SECONDS: '40',
    });
    await new Promise((r) => setTimeout(r, 500 + (i * 2500) / runs));
    sealed.sealed = false;
    const readyAt = Date.now();
    await running;
    toStore.push((api.patches[0].at - readyAt) / 1000);
    toSecrets.push((api.patches[1].at - api.storeReadyAt!) / 1000);
    await Promise.all([sealed.stop(), api.stop()]);
  }
  console.log(`\neso-recovery, median of ${runs} runs:`);
  row('bundle size (dist/)', `${readFileSync(script).length} bytes`);
  row('run with everything healthy: wall / peak RSS', `${healthy.seconds.toFixed(3)} s / ${healthy.mb.toFixed(1)} MB`);
  row('node -e 0: wall / peak RSS', `${floor.seconds.toFixed(3)} s / ${floor.mb.toFixed(1)} MB`);
  row('run / node -e 0 (wall)', `${(healthy.seconds / floor.seconds).toFixed(2)}x`);
  row('vault ready -> store woken (interval 3 s), median / max', `${median(toStore).toFixed(2)} s / ${Math.max(...toStore).toFixed(2)} s`);
  row('store Ready -> first ExternalSecret woken, median / max', `${median(toSecrets).toFixed(2)} s / ${Math.max(...toSecrets).toFixed(2)} s`);
  row('before: the restart (measured at ac85b07, RUNS=5)', 'vault ready -> first restart 1.67 s / 2.67 s');
}

async function unsealPods(): Promise<void> {
  // Three sealed Raft pods whose ports open while a run waits (a cluster restarting): time from the last port opening to
  // the run's exit with every pod unsealed. Pod names resolve to loopback through test/support/fake-dns-preload.js.
  const script = scriptFromDist('vault-auto-unseal-script');
  const keys = secretDir({ key: 'c2hhcmUtMQ==' });
  const gaps: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ports = [await closedPort(), await closedPort(), await closedPort()];
    const hosts = ports.map((_, n) => `vault-${n}.vault-internal.security.svc.cluster.local`);
    const running = measure(process.execPath, [script], {
      VAULT_PODS: hosts.map((h, n) => `http://${h}:${ports[n]}`).join(','), FAKE_DNS_LOOPBACK: hosts.join(','),
      NODE_OPTIONS: `--require ${join(root, 'test', 'support', 'fake-dns-preload.js')}`,
      VAULT_UNSEAL_KEYS_DIR: keys, RETRY_INTERVAL_SECONDS: '3', RETRY_WINDOW_SECONDS: '40',
    });
    await new Promise((r) => setTimeout(r, 500 + (i * 2500) / runs));
    const pods = await Promise.all(ports.map((port) => new FakeVault({ shares: ['c2hhcmUtMQ=='], port, storageType: 'raft' }).start()));
    const sample = await running;
    if (pods.some((p) => p.sealed)) throw new Error('a pod is still sealed after the run');
    gaps.push((sample.exitedAt - Math.max(...pods.map((p) => p.listeningAt))) / 1000);
    await Promise.all(pods.map((p) => p.stop()));
  }
  console.log(`\nvault-auto-unseal on three Raft pods, median of ${runs} runs:`);
  row('ports open -> all three unsealed (interval 3 s), median / max', `${median(gaps).toFixed(2)} s / ${Math.max(...gaps).toFixed(2)} s`);
}

async function raftSnapshot(): Promise<void> {
  // The script as synthesis bundles it, against a stand-in streaming a generated 1 GiB snapshot; peak RSS by GNU time.
  const script = join(mkdtempSync(join(tmpdir(), 'script-')), 'vault-raft-snapshot.js');
  writeFileSync(script, bundleRuntime('raft-snapshot'));
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
  writeFileSync(tokenFile, 'bench-jwt');
  const gib = 1024 * 1024 * 1024;
  const vault = await new FakeRaftSnapshot({ jwt: 'bench-jwt', shape: { dataBytes: gib, level: 0 } }).start();
  const samples: Sample[] = [];
  // A GiB per run: three runs are enough for a median of a figure that barely moves.
  for (let i = 0; i < Math.min(runs, 3); i++) {
    const dir = mkdtempSync(join(tmpdir(), 'snapshots-'));
    samples.push(await measure(process.execPath, [script], {
      VAULT_ADDR: vault.url, KUBE_TOKEN_FILE: tokenFile, SNAPSHOT_DIR: dir, RUN_DEADLINE_SECONDS: '600', RETRY_WINDOW_SECONDS: '0',
    }));
    rmSync(dir, { recursive: true, force: true });
  }
  await vault.stop();
  console.log(`\nvault-raft-snapshot, median of ${samples.length} runs:`);
  row('bundle size', `${readFileSync(script).length} bytes`);
  row('1 GiB snapshot (streamed, verified, fsynced): wall', `${median(samples.map((x) => x.seconds)).toFixed(2)} s`);
  row('1 GiB snapshot: peak RSS (limit 160Mi)', `${(median(samples.map((x) => x.maxRssKb)) / 1024).toFixed(1)} MB`);
}

async function main(): Promise<void> {
  if (!existsSync('/usr/bin/time')) throw new Error('npm run bench needs GNU time at /usr/bin/time (apt-get install time)');
  const only = process.argv[2];
  if (!only || only === 'synth') await synthesis();
  if (!only || only === 'test') await tests();
  if (only === 'devices') await devices();
  if (!only || only === 'unseal') await unseal();
  if (!only || only === 'recovery') await recovery();
  if (!only || only === 'unseal-pods') await unsealPods();
  if (!only || only === 'snapshot') await raftSnapshot();
  if (!only || only === 'rollout') await benchRollout(runs);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
