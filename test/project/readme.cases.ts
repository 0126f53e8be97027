import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as YAML from 'yaml';
import { root } from '../../build/bundle';
import { Manifest, schemaErrors } from '../support/manifests';
import { celErrors } from '../support/cel';

// The docs' own YAML for the cluster (the README and the pages of docs/), checked like the synthesized objects: an
// example a reader copies must apply.

const DOCS = [join(root, 'README.md'), ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(root, 'docs', f))]
  .map((file) => readFileSync(file, 'utf8')).join('\n');

/** The fenced YAML blocks of the docs that hold a `kind`, dedented (a block inside a list item is indented). */
function yamlBlocks(kind: string): string[] {
  return [...DOCS.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```/gm)]
    .map(([, indent, body]) => body.split('\n').map((line) => line.slice(indent.length)).join('\n'))
    .filter((body) => new RegExp(`^kind: ${kind}$`, 'm').test(body));
}

describe('the docs\' ClientTrafficPolicy for the client address behind a load balancer', () => {
  const blocks = yamlBlocks('ClientTrafficPolicy');

  test('is there, once', () => {
    expect(blocks).toHaveLength(1);
  });

  // The block's commented alternative (X-Forwarded-For) is checked too, in place of the PROXY protocol.
  const uncommented = () => blocks[0].replace(/^( *)# (clientIPDetection:|  xForwardedFor:|    numTrustedHops: .*)$/gm, '$1$2');
  const variants: Array<[string, () => Manifest]> = [
    ['as written (the PROXY protocol)', () => YAML.parse(blocks[0])],
    ['with its X-Forwarded-For alternative', () => {
      const alternative = YAML.parse(uncommented());
      delete alternative.spec.proxyProtocol;
      return alternative;
    }],
  ];
  test.each(variants)('%s: valid against the CRD schema, strictly, and its CEL rules', (_case, manifest) => {
    const m = manifest();
    expect(m.spec.targetRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'homelab' }]);
    expect(schemaErrors([m])).toEqual([]);
    expect(celErrors([m])).toEqual([]);
  });

  test('as written it trusts no header; the alternative uncomments into clientIPDetection; two sources at once are refused', () => {
    expect(YAML.parse(blocks[0]).spec.clientIPDetection).toBeUndefined();
    const both = YAML.parse(uncommented());
    expect(both.spec.proxyProtocol).toEqual({});
    expect(both.spec.clientIPDetection).toEqual({ xForwardedFor: { numTrustedHops: 1 } });
    both.spec.clientIPDetection.customHeader = { name: 'X-Real-IP' };
    expect(celErrors([both])).toEqual([expect.stringMatching(/^ClientTrafficPolicy\/client-address \.spec\.clientIPDetection: /)]);
  });
});
