// `npm run bench -- rollout`: vault-rollout on three Raft pods, as the operator runs it (the npm script's bundle as a
// process, the real kubectl against the stand-in API server, a port-forward relay per pod), against stand-ins whose
// pods take a few hundred ms to come back instead of a minute: what is measured is the command's own pace and what it
// keeps of the cluster, from the start to every pod on the update revision, and the fewest unsealed voters at any
// moment (the rollout's promise: never below two of three).
import { HA_DIST, NEW, standIns } from '../test/support/rollout-harness';
import { realKubectl, runRolloutProcess, bundleRollout } from '../test/support/rollout-process';

const row = (name: string, value: string) => console.log(`  ${name.padEnd(58)} ${value}`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** The stand-ins' pace: a pod gone 100 ms after its delete, back 100 ms later, Running after 200 ms, unsealed 300 ms on. */
const PACE = { kube: { terminateMs: 100, recreateMs: 100, startMs: 200 }, vault: { unsealMs: 300, electionMs: 100 } };

export async function benchRollout(runs: number): Promise<void> {
  try {
    realKubectl();
  } catch (error) {
    console.log(`\nvault-rollout: not measured: ${(error as Error).message}`);
    return;
  }
  const bundle = bundleRollout();
  const seconds: number[] = [];
  const fewest: number[] = [];
  const requests: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = await standIns(PACE);
    try {
      const run = await runRolloutProcess(s, bundle, ['--dist', HA_DIST], { VAULT_ROLLOUT_POLL_SECONDS: '0.2' }, 120_000);
      const updated = [...s.kube.pods.values()].every((p) => p.revision === NEW);
      if (run.code !== 0 || !updated) throw new Error(`vault-rollout exited ${run.code} with ${updated ? 'every' : 'not every'} pod updated: ${run.stderr.trim()}`);
      seconds.push(run.ms / 1000);
      fewest.push(s.vault.fewestUnsealedVoters());
      requests.push(s.kube.received.filter((r) => !r.path.startsWith('/version')).length);
    } finally {
      await s.stop();
    }
  }
  const least = Math.min(...fewest);
  console.log(`\nvault-rollout of three Raft pods (poll 0.2 s; a pod back in about 0.7 s), median of ${runs} runs:`);
  row('start -> every pod on the update revision: median / max', `${median(seconds).toFixed(2)} s / ${Math.max(...seconds).toFixed(2)} s`);
  row('fewest unsealed voters at any moment (must be >= 2)', `${least}`);
  row('requests to the API server per rollout (kubectl), median', `${median(requests)}`);
  if (least < 2) throw new Error(`vault-rollout let the unsealed voters fall to ${least}`);
}
