import { UnsealCron, UnsealCronProps, VaultStack } from '../../lib';
import { find, synth } from '../support/manifests';

const envOf = (props: Partial<UnsealCronProps>) => {
  const cron = find(synth((chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', networkPolicy: false });
    new UnsealCron(chart, 'unseal', { vault, ...props });
  }), 'CronJob', 'vault-auto-unseal');
  return Object.fromEntries(cron.spec.jobTemplate.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
};

const urls = [0, 1, 2].map((i) => `https://vault-${i}.vault-internal.security.svc.cluster.local:8200`);

test('podUrls reach the script as VAULT_PODS, in order; VAULT_ADDR stays', () => {
  const env = envOf({ podUrls: urls });
  expect(env.VAULT_PODS).toBe(urls.join(','));
  expect(env.VAULT_ADDR).toBe('https://vault.security.svc.cluster.local:8200');
});

test('without podUrls (one Vault on file storage) there is no VAULT_PODS: the env is as before', () => {
  expect(envOf({}).VAULT_PODS).toBeUndefined();
});

test.each<[string, Partial<UnsealCronProps>, RegExp]>([
  ['no pod', { podUrls: [] }, /invalid UnsealCron podUrls: got \[\], expected at least one pod URL/],
  ['a URL with a path', { podUrls: ['https://vault-0.vault-internal:8200/v1'] }, /invalid UnsealCron podUrls: got "https:\/\/vault-0\.vault-internal:8200\/v1"/],
  ['a plain-HTTP URL to a Vault that serves TLS', { podUrls: ['http://vault-0.vault-internal:8200'] }, /invalid UnsealCron podUrls: got "http:\/\/vault-0\.vault-internal:8200\/", expected https URLs/],
  ['one pod twice', { podUrls: [urls[0], urls[0].replace('.security', '.other')] }, /"vault-0" \(the first label of the host, the pod's name in the log\) appears twice/],
])('refuses %s', (_name, props, message) => {
  expect(() => envOf(props)).toThrow(message);
});
