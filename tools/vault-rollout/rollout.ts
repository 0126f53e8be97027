// The rollout: observe, plan, print the plan, then take the plan's first step, observe again and plan again, until no
// pod is out of date. Planning afresh after every step is what makes a stopped rollout resumable and a leader that
// moved harmless; the checks between steps (the plan's refusals) hold before every deletion, not only the first.
import { reason } from '../../runtime/common/log';
import { Confirm } from './confirm';
import { observe, replacePod, Rollout, stepDown, Stop } from './execute';
import { ClusterView, HA_PODS, Plan, planLines, planRollout, Step } from './plan';

export interface RolloutOptions {
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly confirm: Confirm;
}

/** The line's tail when a rollout stops partway: what the next run does. */
export const RESUME = 'fix it, then run npm run vault-rollout again: it resumes with the pods still out of date';

/** Runs one step; what it learned about the leader is the next observation's preference. */
async function take(r: Rollout, view: ClusterView, step: Step): Promise<string | undefined> {
  const pod = view.pods.find((p) => p.name === step.pod)!;
  if (step.kind === 'step-down') return stepDown(r, view, pod);
  await replacePod(r, view, pod, view.pods.length >= HA_PODS);
  return view.autopilot?.leader;
}

/** Resolves to the exit code; a stop throws Stop with its one line (the caller prints it and exits 1). */
export async function roll(r: Rollout, options: RolloutOptions): Promise<number> {
  let view = await observe(r);
  let plan: Plan = planRollout(view);
  planLines(view, plan).forEach((line) => r.log(line));
  if (view.pods.length !== r.target.replicas) {
    r.log(`warning: dist/ declares ${r.target.replicas} replicas, the cluster's StatefulSet has ${view.pods.length}: GitOps has not synced dist/ yet, or --dist names another app's; the cluster's are rolled`);
  }
  if (options.dryRun) {
    r.log(plan.refusal ? `dry run: nothing changed; a rollout would be refused now: ${plan.refusal}` : 'dry run: nothing changed');
    return 0;
  }
  if (plan.refusal) throw new Stop(`refused, nothing changed: ${plan.refusal}`);
  if (plan.steps.length === 0) {
    r.log(`nothing to do: every pod runs the update revision ${view.updateRevision}`);
    return 0;
  }
  if (plan.downtime && !options.yes && !await options.confirm(`${plan.downtime}. Replace it now?`)) {
    throw new Stop(`not confirmed, nothing changed: ${plan.downtime}; run again with --yes (or answer y on a terminal) to accept it`);
  }
  const revision = view.updateRevision;
  const done: string[] = [];
  const replaced = new Set<string>();
  let leader = plan.leader;
  while (plan.steps.length > 0) {
    const step = plan.steps[0];
    if (step.kind === 'replace' && replaced.has(step.pod)) throw new Stop(`${step.pod} is out of date again after it was replaced; ${RESUME}`);
    try {
      leader = await take(r, view, step);
    } catch (error) {
      const before = done.length > 0 ? ` (done before it: ${done.join(', ')})` : '';
      throw new Stop(`stopped at ${step.kind === 'step-down' ? 'the step-down of' : 'the replacement of'} ${step.pod}: ${reason(error)}${before}; ${RESUME}`);
    }
    if (step.kind === 'replace') replaced.add(step.pod);
    done.push(step.kind === 'step-down' ? `${step.pod} stepped down` : `${step.pod} replaced`);
    try {
      view = await observe(r, leader);
    } catch (error) {
      throw new Stop(`stopped after ${done.join(', ')}: ${reason(error)}; ${RESUME}`);
    }
    if (view.updateRevision !== revision) {
      throw new Stop(`stopped after ${done.join(', ')}: the StatefulSet's update revision changed during the rollout (${revision} -> ${view.updateRevision}); check what changed, then run npm run vault-rollout again`);
    }
    plan = planRollout(view);
    if (plan.refusal) throw new Stop(`stopped after ${done.join(', ')}: ${plan.refusal}`);
  }
  const where = view.storage === 'raft' ? `; leader ${view.autopilot?.leader ?? 'unknown'}` : '';
  r.log(`rollout done: ${view.pods.map((p) => p.name).join(', ')} on ${revision}${where} (${done.join(', ')})`);
  return 0;
}
