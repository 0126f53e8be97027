import { autopilotItem, desiredRaft } from '../../runtime/common/vault-config/raft';

const job = { name: 'vault-raft-snapshot', namespace: 'security', serviceAccount: 'vault-raft-snapshot', authMount: 'kubernetes', role: 'vault-raft-snapshot' };
const cluster = (replicas: number) => ({ name: 'vault', namespace: 'security', replicas });

test('autopilot: cleanup with min_quorum equal to the replicas; one pod turns cleanup off and leaves min_quorum alone', () => {
  expect(desiredRaft([], [cluster(5)], []).autopilot).toEqual({ cleanup_dead_servers: true, min_quorum: 5, source: 'statefulset security/vault (5 replicas)' });
  expect(desiredRaft([], [cluster(1)], []).autopilot).toEqual({ cleanup_dead_servers: false, source: 'statefulset security/vault (1 replicas)' });
  expect(desiredRaft([job], [], []).autopilot).toBeUndefined();
});

test('refuses what one run cannot set up: two Raft clusters, a snapshot role shared with a store or another job', () => {
  expect(() => desiredRaft([], [cluster(3), { ...cluster(3), namespace: 'other' }], [])).toThrow(/2 Vault StatefulSets on Raft \(security\/vault, other\/vault\)/);
  expect(() => desiredRaft([job], [], ['vault-raft-snapshot'])).toThrow(/logs in as role vault-raft-snapshot, which a ClusterSecretStore uses too/);
  expect(() => desiredRaft([job, { ...job, name: 'other' }], [], [])).toThrow(/two snapshot CronJobs log in as role vault-raft-snapshot/);
});

test('the autopilot item compares only the managed fields and writes only them', () => {
  const want = { cleanup_dead_servers: true, min_quorum: 3, source: 's' };
  expect(autopilotItem(want, { cleanup_dead_servers: true, min_quorum: 3, max_trailing_logs: 7 }).state).toBe('in sync');
  const item = autopilotItem(want, { cleanup_dead_servers: false, min_quorum: 3 });
  expect(item).toMatchObject({ state: 'change', details: ['~ cleanup_dead_servers: false -> true'], write: { body: { cleanup_dead_servers: true, min_quorum: 3 } } });
  expect(autopilotItem(want, undefined).state).toBe('conflict');
});
