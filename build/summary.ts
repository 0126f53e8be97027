import { IConstruct } from 'constructs';

// Lines a construct adds to what synthesis prints, such as the clients a NetworkPolicy lets in: what would otherwise
// change silently in the cluster is said where the operator looks.

const SUMMARY = 'homelab-secrets:summary';

/** Adds lines to the synth summary; `produce` is called once the app is complete. */
export function addSummary(construct: IConstruct, produce: () => string[]): void {
  construct.node.addMetadata(SUMMARY, produce);
}

/** The summary lines of every construct under `root`, in tree order. */
export function summaryLines(root: IConstruct): string[] {
  return root.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === SUMMARY).flatMap((m) => (m.data as () => string[])()));
}
