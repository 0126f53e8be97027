import { IConstruct } from 'constructs';

// What a construct adds to a synthesis beyond its objects: lines for what synthesis prints, such as the clients a
// NetworkPolicy lets in (what would otherwise change silently in the cluster is said where the operator looks), and
// files written beside its App's manifests, such as a runbook whose commands carry the app's own names.

const SUMMARY = 'homelab-secrets:summary';
const FILE = 'homelab-secrets:file';

/** Adds lines to the synth summary; `produce` is called once the app is complete. */
export function addSummary(construct: IConstruct, produce: () => string[]): void {
  construct.node.addMetadata(SUMMARY, produce);
}

/** The summary lines of every construct under `root`, in tree order. */
export function summaryLines(root: IConstruct): string[] {
  return root.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === SUMMARY).flatMap((m) => (m.data as () => string[])()));
}

/** A file for its App's output folder, made once the app is complete. */
export interface ExtraFile {
  readonly name: string;
  /** The file's text, given the folder it is written to, relative to the project's root (such as `migration`). */
  readonly produce: (folder: string) => string;
}

/** Writes the file `name` into the output folder of the App that holds `construct`. */
export function addFile(construct: IConstruct, name: string, produce: (folder: string) => string): void {
  construct.node.addMetadata(FILE, { name, produce } satisfies ExtraFile);
}

/** The extra files of every construct under `root`, in tree order. */
export function extraFiles(root: IConstruct): ExtraFile[] {
  return root.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === FILE).map((m) => m.data as ExtraFile));
}
