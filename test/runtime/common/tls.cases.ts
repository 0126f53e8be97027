import * as http from 'http';
import { Writable } from 'stream';
import { download } from '../../../runtime/common/download';
import { RunError } from '../../../runtime/common/failure';
import { request } from '../../../runtime/common/http';
import { readCaFile } from '../../../runtime/common/tls';
import { closedPort } from '../../support/fake-vault';
import { LoopbackServer } from '../../support/loopback-server';
import { caFile, PKI } from '../../support/tls-fixtures';

// The shared calls' TLS (runtime/common/tls.ts), below the scripts: request() and download() trust only the CA they
// are given and turn a certificate problem into exit 2 with a line naming it, for any server (the scripts' own
// scenarios name Vault); a refused connection stays exit 1.

class Answering extends LoopbackServer {
  public requests = 0;
  protected handle(_req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  }
}

const servers: Answering[] = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));
async function server(tls = PKI.serving()): Promise<Answering> {
  const s = await new Answering().withTls(tls).start();
  servers.push(s);
  return s;
}

const ca = readCaFile('VAULT_CACERT', PKI.caFile);
const other = readCaFile('VAULT_CACERT', PKI.otherCaFile);
const sink = () => { let bytes = 0; return { bytes: () => bytes, make: () => new Writable({ write(c, _e, done) { bytes += c.length; done(); } }) }; };

async function failure(call: Promise<unknown>): Promise<RunError> {
  const error = await call.then(() => undefined, (e) => e);
  expect(error).toBeInstanceOf(RunError);
  return error as RunError;
}

test.concurrent('request and download over https with the right CA', async () => {
  const s = await server();
  expect(await request(`${s.url}/x`, { name: 'GET /x', timeoutMs: 5000, ca: ca.pem })).toEqual({ status: 200, json: { ok: true } });
  const into = sink();
  expect(await download(`${s.url}/x`, { name: 'GET /x', ca: ca.pem, deadlineMs: 5000, stallMs: 5000, sink: into.make })).toEqual({ ok: true, status: 200, bytes: 11 });
  expect(into.bytes()).toBe(11);
});

test.concurrent('another CA: exit 2 naming the certificate problem, for any server when the caller names none', async () => {
  const s = await server();
  const error = await failure(request(`${s.url}/x`, { name: 'GET /x', timeoutMs: 5000, ca: other.pem }));
  expect(error.exitCode).toBe(2);
  expect(error.message).toMatch(/^GET \/x: the server's certificate at 127\.0\.0\.1:\d+ is not signed by the CA trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
  expect(s.requests).toBe(0);
});

test.concurrent('download: an expired certificate and http to a TLS listener are exit 2, the sink never made', async () => {
  const expired = await server(PKI.expired());
  let made = 0;
  const options = { name: 'GET /snap', deadlineMs: 5000, stallMs: 5000, sink: () => { made += 1; return sink().make(); } };
  const error = await failure(download(`${expired.url}/snap`, { ...options, ca: ca.pem }));
  expect([error.exitCode, error.message]).toEqual([2, expect.stringMatching(/^GET \/snap: the server's certificate at 127\.0\.0\.1:\d+ has expired \(CERT_HAS_EXPIRED\)/)]);
  const tls = await server();
  const plain = await failure(download(tls.url.replace('https:', 'http:') + '/snap', options));
  expect([plain.exitCode, plain.message]).toEqual([2, expect.stringMatching(/^GET \/snap: the server at 127\.0\.0\.1:\d+ speaks TLS and its URL is http/)]);
  expect(made).toBe(0);
});

test.concurrent('a refused connection stays exit 1 over https', async () => {
  const url = `https://127.0.0.1:${await closedPort()}/x`;
  const error = await failure(request(url, { name: 'GET /x', timeoutMs: 5000, ca: ca.pem }));
  expect([error.exitCode, error.message]).toEqual([1, 'GET /x failed: ECONNREFUSED']);
  const dl = await failure(download(url, { name: 'GET /x', ca: ca.pem, deadlineMs: 5000, stallMs: 5000, sink: () => sink().make() }));
  expect([dl.exitCode, dl.message]).toEqual([1, 'GET /x failed: ECONNREFUSED']);
});

test('a CA bundle: every certificate trusted, the first named, whether any is a CA', () => {
  const bundle = readCaFile('VAULT_CACERT', caFile(`${PKI.ca.cert}${PKI.serving().cert}`));
  expect(bundle.source).toMatch(/^VAULT_CACERT \S+ca\.crt \(CN=vault CA and 1 more\)$/);
  expect(bundle.holdsCa).toBe(true);
  expect(bundle.pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  expect(readCaFile('VAULT_CACERT', caFile(PKI.serving().cert)).holdsCa).toBe(false);
});
