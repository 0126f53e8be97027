import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { summaryLines } from '../../build/summary';
import { parseTree, readTree } from '../support/app-invariants';
import { homelabApps } from '../support/homelab-apps';
import { Manifest } from '../support/manifests';
import { connects, describePeer, egressAllows, ingressAllows, policiesOf, workloadPods } from '../support/network-policy';

// The NetworkPolicies of the committed dist/ (main.ts's, then each example's), read peer by peer: every rule names its
// peers, none admits a whole namespace, each peer of Vault's ingress is a client the synth summary names (and the
// reverse), and the connections the project needs go through while others do not. No value of this homelab is named:
// each is read from the output or from the app.

describe.each(homelabApps())('$name', ({ dist, build }) => {
  const manifests: Manifest[] = parseTree(readTree(dist));
  const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
  const summary = build(mkdtempSync(join(tmpdir(), 'netpol-'))).flatMap((app) => summaryLines(app));
  const pods = workloadPods(manifests);
  const statefulSet = manifests.find((m) => m.kind === 'StatefulSet')!;
  const vault = pods.get(`StatefulSet ${statefulSet.metadata.namespace}/${statefulSet.metadata.name}`)!;
  const apiPort = statefulSet.spec.template.spec.containers[0].ports.find((p: any) => p.name === 'http' || p.name === 'https').containerPort;
  const cronJobs = [...pods].filter(([what]) => what.startsWith('CronJob'));

  test('every rule names its peers: pods by their labels in a namespace named, or addresses; a whole namespace never', () => {
    expect(policies.length).toBeGreaterThan(0);
    for (const policy of policies) {
      const rules = [...(policy.spec.ingress ?? []).map((r: any) => r.from), ...(policy.spec.egress ?? []).map((r: any) => r.to)];
      for (const peers of rules) {
        expect({ policy: policy.metadata.name, peers: Array.isArray(peers) && peers.length > 0 }).toEqual({ policy: policy.metadata.name, peers: true });
        for (const peer of peers) {
          if (peer.ipBlock) continue;
          expect({ policy: policy.metadata.name, labels: Object.keys(peer.podSelector?.matchLabels ?? {}).length > 0 }).toEqual({ policy: policy.metadata.name, labels: true });
          if (peer.namespaceSelector) expect(Object.keys(peer.namespaceSelector.matchLabels)).toEqual(['kubernetes.io/metadata.name']);
        }
      }
    }
  });

  test('each peer of Vault\'s API port is a client the synth summary names, and each client it names is a peer', () => {
    const vaultPolicy = policiesOf(manifests, vault, 'Ingress').find((p) => p.spec.ingress.some((r: any) => r.from?.some((f: any) => f.namespaceSelector || f.ipBlock)))!;
    // Labels in one order: the YAML's keys are sorted, the summary keeps the constructs' order.
    const normal = (text: string) => text.replace(/^pods (\S+) in/, (_, labels: string) => `pods ${labels.split(',').sort().join(',')} in`);
    const peers = vaultPolicy.spec.ingress.flatMap((r: any) => r.from.map(describePeer)).map(normal).sort();
    const header = summary.findIndex((l) => new RegExp(`^Vault \\(${vault.namespace}\\) accepts port ${apiPort} only from:$`).test(l));
    expect(header).toBeGreaterThanOrEqual(0);
    const named: string[] = [];
    for (const line of summary.slice(header + 1)) {
      if (!line.startsWith('  ')) break;
      // Each line is the peer, then its description in parentheses (which may hold one pair of its own).
      named.push(normal(line.trim().replace(/ \([^()]*(\([^()]*\))?[^()]*\)$/, '')));
    }
    named.sort();
    expect(peers).toEqual(named);
  });

  test('every pod it runs is isolated for egress; each CronJob reaches Vault\'s API port, through both ends, and Vault its DNS', () => {
    for (const [what, pod] of pods) expect({ what, egress: policiesOf(manifests, pod, 'Egress').length > 0 }).toEqual({ what, egress: true });
    expect(cronJobs.length).toBeGreaterThan(0);
    for (const [what, pod] of cronJobs) {
      expect({ what, vault: connects(manifests, pod, vault, { port: apiPort }) }).toEqual({ what, vault: true });
      expect({ what, anywhere: egressAllows(manifests, pod, { ip: '203.0.113.7' }, { port: 443 }) }).toEqual({ what, anywhere: false });
    }
    const dns = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
    expect(egressAllows(manifests, vault, dns, { port: 53, protocol: 'UDP' })).toBe(true);
    expect(egressAllows(manifests, vault, { ip: '203.0.113.7' }, { port: 443 })).toBe(false);
    // A pod beside Vault that nothing declares is not let in.
    expect(ingressAllows(manifests, vault, { namespace: vault.namespace, labels: { 'app.kubernetes.io/name': 'stranger' } }, { port: apiPort })).toBe(false);
  });

  test('the API server\'s addresses the summary prints are those Vault\'s egress holds, and only Vault, the recovery job and the bootstrap reach them', () => {
    const line = summary.find((l) => l.startsWith('  the API server: '))!;
    const [cidrs, ports] = line.replace('  the API server: ', '').split(/, ports? /);
    const vaultEgress = policiesOf(manifests, vault, 'Egress').flatMap((p) => p.spec.egress);
    const blocks = vaultEgress.filter((r: any) => r.to.some((t: any) => t.ipBlock));
    expect(blocks.flatMap((r: any) => r.to.map((t: any) => t.ipBlock.cidr)).join(', ')).toBe(cidrs);
    expect(blocks.flatMap((r: any) => r.ports.map((p: any) => p.port)).join(', ')).toBe(ports);
    const anApiAddress = { ip: cidrs.split(', ')[0].split('/')[0] };
    const reach = cronJobs.filter(([, pod]) => egressAllows(manifests, pod, anApiAddress, { port: Number(ports.split(', ')[0]) })).map(([what]) => what.split('/')[1]);
    // The unseal and snapshot jobs never call the API; the bootstrap writes the unseal Secret and its Events.
    const callers = ['eso-recovery', 'vault-bootstrap'].filter((name) => cronJobs.some(([what]) => what.split('/')[1] === name));
    expect([...reach].sort()).toEqual(callers);
  });
});
