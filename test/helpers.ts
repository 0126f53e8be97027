import { Chart, Testing } from 'cdk8s';

/** A Kubernetes object as synthesized. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

/** Synthesizes a fresh chart after `build` has added constructs to it. */
export function synth(build: (chart: Chart) => void): Manifest[] {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart) as Manifest[];
}

/** The one object of this kind and name; fails the test when there is not exactly one. */
export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind} ${name}, found ${found.length} among ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  }
  return found[0];
}

/**
 * Validates each object against the Kubernetes API schemas of kubernetes-models; returns the messages of those that
 * fail, or that have no schema there (a kind this check cannot vouch for must not pass silently).
 */
export function schemaErrors(manifests: Manifest[]): string[] {
  const errors: string[] = [];
  for (const m of manifests) {
    const group = m.apiVersion.includes('/') ? m.apiVersion : `v1`;
    let Model: any;
    try {
      Model = require(`kubernetes-models/${group}/${m.kind}`)[m.kind];
    } catch {
      errors.push(`${m.apiVersion} ${m.kind}: no schema in kubernetes-models`);
      continue;
    }
    try {
      new Model(m).validate();
    } catch (e) {
      errors.push(`${m.kind}/${m.metadata.name}: ${(e as Error).message}`);
    }
  }
  return errors;
}
