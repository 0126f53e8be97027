// The scripts' Events (core v1, stamped to the second as Kubernetes does): what a run tells the operator through
// `kubectl get events` and `kubectl describe`. Recording one is a courtesy: a failure is said and never changes the
// run's outcome (the exit code and the log line are the signal), and a name already taken (409) means it is recorded.
import { RunError } from './failure';
import { KubeApi } from './kube';
import { reason } from './log';

export interface EventToRecord {
  readonly namespace: string;
  /** The Event's name: the same name records the event once. */
  readonly name: string;
  readonly involvedObject: Record<string, unknown>;
  /** The object as a message names it, such as "clustersecretstore k8s-secrets". */
  readonly about: string;
  readonly reason: string;
  readonly type: 'Normal' | 'Warning';
  readonly message: string;
  /** The script, as the Event's source and reporting component. */
  readonly component: string;
}

/** Records `event`, its message cut at `maxChars`. */
export async function recordEvent(kube: KubeApi, event: EventToRecord, now: number, say: (line: string) => void, maxChars = 1024): Promise<void> {
  const stamp = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  const { component } = event;
  const body = {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: event.name, namespace: event.namespace },
    involvedObject: event.involvedObject,
    reason: event.reason, type: event.type, message: event.message.slice(0, maxChars),
    source: { component }, reportingComponent: component, reportingInstance: component,
    firstTimestamp: stamp, lastTimestamp: stamp, count: 1,
  };
  try {
    await kube.create(`/api/v1/namespaces/${event.namespace}/events`, body, `event ${event.namespace}/${event.name}`);
  } catch (error) {
    if (error instanceof RunError && error.status === 409) return;
    say(`could not record the event ${event.reason} on ${event.about}: ${reason(error)}`);
  }
}
