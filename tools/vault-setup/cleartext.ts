// The admin token travels in a header of every call: over plain http it is readable by anyone on the path. So an
// http VAULT_ADDR is accepted only for this machine (the port-forward's end), or when the operator says so.
import { isIP } from 'net';

/** The flag that accepts plain http to another host. */
export const ALLOW_HTTP_FLAG = '--allow-http';

/** localhost, 127.0.0.0/8 or ::1 (also as an IPv4-mapped address), as a URL's hostname spells them. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) !== 6) return false;
  if (host === '::1') return true;
  // The URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1: the mapped address is loopback when it starts with 7f.
  const mapped = host.match(/^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/);
  return !!mapped && mapped[1].padStart(4, '0').startsWith('7f');
}

/** Throws one line when `addr` is plain http to a host that is not this machine and the operator did not opt in. */
export function refuseCleartext(addr: string, allowHttp: boolean): void {
  const url = new URL(addr);
  if (url.protocol !== 'http:' || allowHttp || isLoopbackHost(url.hostname)) return;
  throw new Error(`VAULT_ADDR ${addr} is plain http to ${url.hostname}, not this machine: the admin token would cross the network in cleartext; `
    + `use https (with VAULT_CACERT), or a port-forward and http://127.0.0.1:8200, or pass ${ALLOW_HTTP_FLAG} if that network is trusted`);
}
