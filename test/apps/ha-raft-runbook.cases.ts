import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as YAML from 'yaml';
import { root } from '../../build/bundle';

// The HA example's migration runbook (written by synthesis beside the migration's manifests), read as an operator
// follows it: what one step suspends, a later step before the unseal step resumes, because nothing else will (no
// manifest in dist/ owns spec.suspend).
const readme = readFileSync(join(root, 'examples', 'ha-raft', 'README.md'), 'utf8');
const runbook = readFileSync(join(root, 'examples', 'ha-raft', 'migration', 'RUNBOOK.md'), 'utf8');
const steps = runbook.split(/\n(?=\d+\. \*\*)/);
const stepIndex = (title: RegExp) => steps.findIndex((s) => title.test(s.split('\n')[0]));
const patched = (step: string, suspend: boolean): string[] => {
  const patches = [...step.matchAll(/kubectl -n ([a-z0-9-]+) patch cronjob ([a-z0-9-]+) -p '\{"spec":\{"suspend":(true|false)\}\}'/g)];
  return patches.filter((m) => m[3] === String(suspend)).map((m) => `${m[1]}/${m[2]}`);
};

function cronJobs(dir: string): any[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return cronJobs(path);
    if (!e.name.endsWith('.yaml')) return [];
    return YAML.parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON()).filter((o) => o?.kind === 'CronJob');
  });
}

test('every CronJob the runbook suspends is resumed by an explicit patch before the unseal step', () => {
  const unsealStep = stepIndex(/\*\*Unseal\*\*/);
  expect(unsealStep).toBeGreaterThan(0);
  const suspended = steps.slice(0, unsealStep).flatMap((s) => patched(s, true));
  expect(suspended.length).toBeGreaterThan(0);
  // Every CronJob the example runs but its Raft snapshots, which start after the move: those the file storage's layout runs.
  const before = cronJobs(join(root, 'examples', 'ha-raft', 'dist')).map((j) => `${j.metadata.namespace}/${j.metadata.name}`).filter((name) => !/snapshot/.test(name));
  expect([...suspended].sort()).toEqual(before.sort());
  const suspendStep = steps.findIndex((s) => patched(s, true).length > 0);
  const resumed = steps.slice(suspendStep + 1, unsealStep).flatMap((s) => patched(s, false));
  expect(resumed.sort()).toEqual([...suspended].sort());
});

test('no manifest of the example sets spec.suspend, so GitOps would never resume a suspended CronJob', () => {
  const jobs = cronJobs(join(root, 'examples', 'ha-raft', 'dist'));
  expect(jobs.length).toBeGreaterThan(0);
  for (const job of jobs) expect(job.spec.suspend).toBeUndefined();
  expect(readme + runbook).not.toMatch(/GitOps re-applies the CronJobs unsuspended/);
});

test('an alert reading EndpointSlices says which kube-state-metrics it needs (v2.18 collects them by default, Endpoints no more)', () => {
  const rules = YAML.parseAllDocuments(readFileSync(join(root, 'examples', 'ha-raft', 'dist', 'alerts', 'vault-alerts.k8s.yaml'), 'utf8'))
    .map((d) => d.toJSON()).filter((o) => o?.kind === 'PrometheusRule')
    .flatMap((r) => r.spec.groups.flatMap((g: any) => g.rules)).filter((r: any) => /\bkube_endpointslice_endpoints\b/.test(r.expr));
  expect(rules.map((r: any) => r.alert)).toEqual(['VaultNoActiveNode']);
  const alertsDoc = readFileSync(join(root, 'docs', 'alerts.md'), 'utf8');
  for (const rule of rules) {
    const row = alertsDoc.split('\n').find((line) => line.includes(`id="${rule.alert.toLowerCase()}"`));
    expect(row).toMatch(/kube-state-metrics v2\.18 or later/);
  }
});

test('the docs state the off-site recovery point and when autopilot prunes a dead peer', () => {
  const backups = readFileSync(join(root, 'docs', 'backups.md'), 'utf8');
  const offSite = find(join(root, 'examples', 'ha-raft', 'dist', 'vault', 'vault-raft-snapshot.k8s.yaml'), 'RecurringJob');
  // The off-site copy's schedule is daily, so the recovery point off-site is about a day, whatever the snapshot schedule.
  expect(offSite.spec.cron).toMatch(/^\d+ \d+ \* \* \*$/);
  expect(backups).toMatch(/The copy off-site is\s+daily[^.]*up to about 24 h of changes/);
  expect(readFileSync(join(root, 'docs', 'vault.md'), 'utf8')).toMatch(/in a cluster at full size it never prunes a dead peer[^.]*; it acts only after a scale-down/);
});

function find(file: string, kind: string): any {
  return YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON()).find((o) => o?.kind === kind);
}
