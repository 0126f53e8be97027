import { Chart, Testing } from 'cdk8s';
import { VaultBackup, VaultBackupProps, VaultStack, VaultStackProps } from '../../lib';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';

function backup(props: Partial<VaultBackupProps> = {}, vaultProps: Partial<VaultStackProps> = {}): Manifest[] {
  return synth((chart) => new VaultBackup(chart, 'backup', { vault: new VaultStack(chart, 'vault', { host: 'vault.example.com', ...vaultProps }), ...props }));
}

/** The objects of the chart `vault`, as main.ts lays it out: VaultBackup in a chart of its own, or not at all. */
function vaultChart(withBackup: boolean): Manifest[] {
  const app = Testing.app();
  const chart = new Chart(app, 'vault');
  const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com' });
  if (withBackup) new VaultBackup(new Chart(app, 'vault-backup'), 'vault-backup', { vault });
  return Testing.synth(chart) as Manifest[];
}

const manifests = backup();
const jobs = manifests.filter((m) => m.kind === 'RecurringJob');

describe('VaultBackup defaults', () => {
  test('defines an hourly snapshot kept for a day and a daily backup kept for a month, in longhorn-system', () => {
    expect(jobs.map((j) => j.metadata.name)).toEqual(['vault-snapshot', 'vault-backup']);
    expect(find(manifests, 'RecurringJob', 'vault-snapshot')).toEqual({
      apiVersion: 'longhorn.io/v1beta2',
      kind: 'RecurringJob',
      metadata: {
        name: 'vault-snapshot', namespace: 'longhorn-system', annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' },
        labels: { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/component': 'backup' },
      },
      spec: {
        name: 'vault-snapshot', task: 'snapshot', cron: '0 * * * *', retain: 24, concurrency: 1, groups: [],
        labels: { 'app.kubernetes.io/name': 'vault' },
      },
    });
    expect(find(manifests, 'RecurringJob', 'vault-backup').spec).toEqual({
      name: 'vault-backup', task: 'backup', cron: '30 2 * * *', retain: 30, concurrency: 1, groups: [],
      labels: { 'app.kubernetes.io/name': 'vault' },
    });
  });

  test('labels the claim so that exactly these jobs apply to it: source enabled, one label per job, no group', () => {
    const labels = find(manifests, 'PersistentVolumeClaim', 'vault-data').metadata.labels;
    const longhorn = Object.keys(labels).filter((k) => k.includes('longhorn.io'));
    expect(longhorn.sort()).toEqual([
      'recurring-job.longhorn.io/source', 'recurring-job.longhorn.io/vault-backup', 'recurring-job.longhorn.io/vault-snapshot',
    ]);
    for (const key of longhorn) expect(labels[key]).toBe('enabled');
    for (const job of jobs) {
      expect(labels[`recurring-job.longhorn.io/${job.spec.name}`]).toBe('enabled');
      // Not in the "default" group (or any), which Longhorn applies to every volume without job labels.
      expect(job.spec.groups).toEqual([]);
    }
  });

  test('every object is valid against its CRD or API schema, strictly', () => {
    expect(schemaErrors(manifests)).toEqual([]);
  });

  test('the strict RecurringJob schema check catches an unknown field', () => {
    const broken = { ...jobs[0], spec: { ...jobs[0].spec, retention: 24 } };
    expect(schemaErrors([broken])).toEqual([expect.stringContaining('must NOT have additional properties')]);
  });

  test('a RecurringJob of a version Longhorn no longer serves fails the schema check', () => {
    expect(schemaErrors([{ ...jobs[0], apiVersion: 'longhorn.io/v1beta1' }]))
      .toEqual(['longhorn.io/v1beta1 RecurringJob: no served CRD version in imports/crd-schemas.json']);
  });

  test('matches the snapshot', () => {
    expect(jobs).toMatchSnapshot();
  });
});

describe('VaultBackup on the running claim', () => {
  const before = vaultChart(false);
  const after = vaultChart(true);

  test('changes only the labels of the claim: its name, namespace, annotations and spec stay identical', () => {
    const old = find(before, 'PersistentVolumeClaim', 'vault-data');
    const now = find(after, 'PersistentVolumeClaim', 'vault-data');
    const { labels: oldLabels, ...oldRest } = old.metadata;
    const { labels: newLabels, ...newRest } = now.metadata;
    expect(newRest).toEqual(oldRest);
    expect(now.spec).toEqual(old.spec);
    expect({ ...now, metadata: undefined }).toEqual({ ...old, metadata: undefined });
    // Labels are only added, none changed or removed: a label change is applied to a bound claim in place.
    expect(newLabels).toEqual(expect.objectContaining(oldLabels));
    expect(Object.keys(newLabels).filter((k) => !(k in oldLabels)).every((k) => k.startsWith('recurring-job.longhorn.io/'))).toBe(true);
  });

  test('leaves every other object of the vault chart byte for byte as it was (selectors included)', () => {
    const others = (ms: Manifest[]) => ms.filter((m) => m.kind !== 'PersistentVolumeClaim');
    expect(others(after)).toEqual(others(before));
  });
});

describe('VaultBackup props', () => {
  test('every prop reaches the output', () => {
    const out = backup({
      namespace: 'storage', snapshotName: 'secrets-snap', snapshotSchedule: '*/30 * * * *', snapshotRetain: 48,
      backupName: 'secrets-backup', backupSchedule: '0 4 * * 0', backupRetain: 12,
    });
    expect(find(out, 'RecurringJob', 'secrets-snap')).toMatchObject({
      metadata: { namespace: 'storage' }, spec: { name: 'secrets-snap', task: 'snapshot', cron: '*/30 * * * *', retain: 48 },
    });
    expect(find(out, 'RecurringJob', 'secrets-backup')).toMatchObject({
      metadata: { namespace: 'storage' }, spec: { name: 'secrets-backup', task: 'backup', cron: '0 4 * * 0', retain: 12 },
    });
    const labels = find(out, 'PersistentVolumeClaim', 'vault-data').metadata.labels;
    expect(labels['recurring-job.longhorn.io/secrets-snap']).toBe('enabled');
    expect(labels['recurring-job.longhorn.io/secrets-backup']).toBe('enabled');
    expect(labels['recurring-job.longhorn.io/vault-snapshot']).toBeUndefined();
    expect(schemaErrors(out)).toEqual([]);
  });

  test('labels the claim of the VaultStack it is given, in whatever namespace', () => {
    const out = backup({}, { namespace: 'vault-system' });
    expect(find(out, 'PersistentVolumeClaim', 'vault-data').metadata).toMatchObject({
      namespace: 'vault-system', labels: { 'recurring-job.longhorn.io/source': 'enabled' },
    });
  });

  test.each<[string, Partial<VaultBackupProps>, RegExp]>([
    ['namespace', { namespace: 'Longhorn' }, /invalid VaultBackup namespace: got "Longhorn", expected a DNS-1123 label/],
    ['snapshot name', { snapshotName: 'Vault_Snapshot' }, /invalid VaultBackup snapshotName: got "Vault_Snapshot", expected a DNS-1123 label/],
    ['snapshot name over 40 characters', { snapshotName: 'a'.repeat(41) }, /invalid VaultBackup snapshotName: got "a{41}", expected at most 40 characters/],
    ['backup name', { backupName: 'vault.backup' }, /invalid VaultBackup backupName: got "vault.backup", expected a DNS-1123 label/],
    ['backup name equal to the snapshot name', { backupName: 'vault-snapshot' }, /invalid VaultBackup backupName: got "vault-snapshot", expected a name other than snapshotName/],
    ['snapshot schedule out of range', { snapshotSchedule: '60 * * * *' }, /invalid VaultBackup snapshotSchedule: got "60 \* \* \* \*", expected five cron fields/],
    ['backup schedule macro', { backupSchedule: '@daily' }, /invalid VaultBackup backupSchedule: got "@daily", expected five cron fields/],
    ['snapshot retain of 0', { snapshotRetain: 0 }, /invalid VaultBackup snapshotRetain: got 0, expected a whole number from 1 to 100/],
    ['snapshot retain not whole', { snapshotRetain: 1.5 }, /invalid VaultBackup snapshotRetain: got 1.5, expected a whole number from 1 to 100/],
    ['backup retain over Longhorn\'s maximum', { backupRetain: 101 }, /invalid VaultBackup backupRetain: got 101, expected a whole number from 1 to 100/],
  ])('rejects a wrong %s', (_case, props, message) => {
    expect(() => backup(props)).toThrow(message);
  });
});
