#!/usr/bin/env node
// `npm run bench`: wall-time medians of the ways to synthesize dist/, on this machine. A benchmark, not a test: it
// prints figures and fails only when a command fails. RUNS=n sets the number of runs (default 7).
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const runs = Number(process.env.RUNS ?? 7);
const env = { ...process.env, CDK8S_CHECK_UPGRADE: 'false' };
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function time(command, args) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
    samples.push(seconds);
  }
  return median(samples);
}

const rows = [
  ['npm run synth', time('npm', ['run', '-s', 'synth'])],
  ['cdk8s synth', time(bin('cdk8s'), ['synth'])],
  ['ts-node main.ts (cdk8s template default)', time(bin('ts-node'), ['main.ts'])],
  ['node -e 0 (floor)', time(process.execPath, ['-e', '0'])],
];
console.log(`synthesis, median of ${runs} runs (seconds):`);
for (const [name, seconds] of rows) console.log(`  ${name.padEnd(44)} ${seconds.toFixed(3)}`);
console.log(`  ts-node / npm run synth: ${(rows[2][1] / rows[0][1]).toFixed(1)}x`);
