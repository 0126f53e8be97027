#!/usr/bin/env node
// `kubectl port-forward pod/<pod> :8200` for vault-rollout's process tests and bench, answered as kubectl answers it,
// by a loopback relay to that pod's stand-in Vault (FAKE_PODS_FILE maps each running pod to its port); the kubectl
// they run (rollout-process.ts) sends every other command to the real kubectl (REAL_KUBECTL). kubectl's own
// port-forward (discovery, then SPDY or websockets through the API server and the kubelet) is not stood in for: the
// relay keeps what the command sees of it, the line naming the local port, and the end when the pod goes.
const fs = require('fs');
const net = require('net');
const path = require('path');

const args = process.argv.slice(2);
const pod = args.find((a) => a.startsWith('pod/')).slice('pod/'.length);
// Each relay leaves its pid, so that a test can check that the command ended every port-forward it started.
if (process.env.FAKE_FORWARDS_DIR) fs.writeFileSync(path.join(process.env.FAKE_FORWARDS_DIR, String(process.pid)), pod);
const port = JSON.parse(fs.readFileSync(process.env.FAKE_PODS_FILE, 'utf8'))[pod];
if (!port) {
  process.stderr.write('error: unable to forward port because pod is not running. Current status=Pending\n');
  process.exit(1);
}
const lost = () => {
  process.stderr.write(`error: lost connection to pod ${pod}\n`);
  process.exit(1);
};
// Each connection is relayed as kubectl relays it over its stream (client-go's portforward.go): both directions
// copied, each half-close passed on (without it, a request written as Vault closes failed as a lost pod). The pod's
// Vault gone (its port refusing, or resetting what it served) ends the port-forward, as kubectl's "lost connection to
// pod" does; another error ends that connection alone.
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  const upstream = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.pipe(upstream).pipe(socket);
  upstream.on('error', (error) => {
    socket.destroy();
    if (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET') lost();
  });
  socket.on('error', () => upstream.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`Forwarding from 127.0.0.1:${server.address().port} -> 8200\n`));
process.on('SIGTERM', () => process.exit(0));
