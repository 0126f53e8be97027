import { randomBytes, randomUUID } from 'crypto';

// Vault's seal lifecycle with a Shamir seal, for the stateful stand-in of fake-vault-lifecycle.ts, answering as
// hashicorp/vault does: http/sys_init.go and vault/seal_config.go (SealConfig.Validate: the "invalid seal
// configuration: ..." errors; a second init "Vault is already initialized"; the keys as hex and base64, Vault left
// sealed), http/sys_seal.go (seal-status with t/n 0 before init; unseal takes a key as hex when it decodes to 16..33
// bytes, else as standard base64), vault/core.go (unsealFragment/recordUnsealPart/getUnsealKey: a share already given
// in this attempt is ignored, nothing is checked until the threshold is reached, then the attempt ends whatever the
// outcome), http/sys_health.go (501 uninitialized, 503 sealed, 200 active; uninitcode/sealedcode/activecode override),
// http/sys_generate_root.go and vault/generate_root.go (an unauthenticated flow on an unsealed Vault: 503 while sealed,
// 400 "server is not yet initialized" for a status before init; a PUT without otp or pgp_key makes a 28-character
// base62 OTP and returns it; the token is XORed with the OTP and encoded as unpadded standard base64, as
// sdk/helper/roottoken/encode.go does and command/operator_generate_root.go decodes it).
// Shamir is not real math here: a share is valid iff it is one init issued, and any threshold of distinct issued
// shares opens the barrier.

/** A status code and the JSON answered. */
export type Answer = [number, unknown?];

const SEALED: Answer = [503, { errors: ['Vault is sealed'] }];
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The barrier's key length range plus Shamir's one-byte overhead (vault/barrier_aes_gcm.go KeyLength). */
const KEY_MIN = 16;
const KEY_MAX = 33;
/** TokenLength + TokenPrefixLength ("hvs."): the OTP's length and a root token's. */
export const OTP_LENGTH = 28;
const VERSION = '2.0.4';

/** Random base62 text, as go-secure-stdlib's base62.Random makes it. */
export function base62(length: number): string {
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length)) if (byte < 248 && text.length < length) text += BASE62[byte % 62];
  }
  return text;
}

const error = (status: number, message: string): Answer => [status, { errors: [message] }];

/** A share as the API takes it: hex when it decodes to a key's length, else strict standard base64. */
function decodeKey(text: string): Buffer | undefined {
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text) && text.length / 2 >= KEY_MIN && text.length / 2 <= KEY_MAX) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0) return Buffer.from(text, 'base64');
  return undefined;
}

function lengthError(key: Buffer): Answer | undefined {
  if (key.length < KEY_MIN) return error(400, `key is shorter than minimum ${KEY_MIN} bytes`);
  if (key.length > KEY_MAX) return error(400, `key is longer than maximum ${KEY_MAX} bytes`);
  return undefined;
}

/** The first validation error of SealConfig.Validate, or undefined. */
function invalidConfig(shares: number, threshold: number): string | undefined {
  if (shares < 1) return 'shares must be at least one';
  if (threshold < 1) return 'threshold must be at least one';
  if (shares > 1 && threshold === 1) return 'threshold must be greater than one for multiple shares';
  if (shares > 255) return 'shares must be less than 256';
  if (threshold > 255) return 'threshold must be less than 256';
  if (threshold > shares) return 'threshold cannot be larger than shares';
  return undefined;
}

/** What sys/init answers, once. */
export interface InitAnswer {
  readonly keys: string[];
  readonly keys_base64: string[];
  readonly root_token: string;
}

/** Init, unseal and root generation of one Vault; `host.sealed` is the server's seal state, `mintRoot` its token store. */
export class VaultSeal {
  /** The barrier's configuration, once initialized. */
  public config?: { readonly shares: number; readonly threshold: number };
  /** The shares init issued (raw bytes). */
  public shares: Buffer[] = [];
  private unsealAttempt?: { readonly nonce: string; readonly parts: Buffer[] };
  private generation?: { readonly nonce: string; readonly otp: string; parts: Buffer[] };

  constructor(private readonly host: { sealed: boolean }, private readonly mintRoot: () => string) {}

  /** PUT sys/init. */
  init(body: any): Answer {
    if (['pgp_keys', 'root_token_pgp_key', 'stored_shares'].some((f) => body?.[f] !== undefined && body[f] !== 0 && body[f] !== '')) {
      return error(400, 'the stand-in does not model pgp_keys, root_token_pgp_key or stored_shares');
    }
    if (['recovery_shares', 'recovery_threshold', 'recovery_pgp_keys'].some((f) => body?.[f])) {
      return error(400, 'parameters specific to auto unseal seals present');
    }
    const shares = body?.secret_shares ?? 0;
    const threshold = body?.secret_threshold ?? 0;
    if (!Number.isInteger(shares) || !Number.isInteger(threshold)) return error(400, 'json: cannot unmarshal into Go struct field of type int');
    const invalid = invalidConfig(shares, threshold);
    if (invalid) return error(400, `invalid seal configuration: ${invalid}`);
    if (this.config) return error(400, 'Vault is already initialized');
    this.config = { shares, threshold };
    this.shares = Array.from({ length: shares }, () => randomBytes(shares === 1 ? 32 : 33));
    const answer: InitAnswer = {
      keys: this.shares.map((s) => s.toString('hex')), keys_base64: this.shares.map((s) => s.toString('base64')), root_token: this.mintRoot(),
    };
    return [200, answer];
  }

  /** GET sys/seal-status (and what unseal answers). */
  sealStatus(): Answer {
    const common = { type: 'shamir', version: VERSION, build_date: '2026-01-01T00:00:00Z', migration: false, recovery_seal: false, storage_type: 'file' };
    if (!this.config) return [200, { ...common, initialized: false, sealed: true, t: 0, n: 0, progress: 0, nonce: '' }];
    return [200, {
      ...common, initialized: true, sealed: this.host.sealed, t: this.config.threshold, n: this.config.shares,
      progress: this.unsealAttempt?.parts.length ?? 0, nonce: this.unsealAttempt?.nonce ?? '',
      ...(!this.host.sealed && { cluster_name: 'vault-cluster-stand-in', cluster_id: '00000000-0000-0000-0000-000000000000' }),
    }];
  }

  /** GET sys/health, with the code overrides Vault reads from the query. */
  health(query: Record<string, string> = {}): Answer {
    const code = (name: string, fallback: number) => (/^\d+$/.test(query[name] ?? '') ? Number(query[name]) : fallback);
    const status = !this.config ? code('uninitcode', 501) : this.host.sealed ? code('sealedcode', 503) : code('activecode', 200);
    return [status, {
      initialized: this.config !== undefined, sealed: this.host.sealed, standby: false, performance_standby: false,
      replication_performance_mode: 'disabled', replication_dr_mode: 'disabled', server_time_utc: Math.floor(Date.now() / 1000), version: VERSION,
    }];
  }

  /** PUT sys/unseal: {key} or {reset: true}. */
  unseal(body: any): Answer {
    if (body?.reset === true) {
      if (!this.host.sealed) return error(400, 'vault is unsealed');
      this.unsealAttempt = undefined;
      return this.sealStatus();
    }
    if (typeof body?.key !== 'string' || body.key === '') return error(400, "'key' must be specified in request body as JSON, or 'reset' set to true");
    const key = decodeKey(body.key);
    if (!key) return error(400, "'key' must be a valid hex or base64 string");
    const tooLong = lengthError(key);
    if (tooLong) return tooLong;
    if (!this.config) return error(400, 'Vault is not initialized');
    if (!this.host.sealed) return this.sealStatus();
    const attempt = (this.unsealAttempt ??= { nonce: randomUUID(), parts: [] });
    if (!attempt.parts.some((p) => p.equals(key))) attempt.parts.push(key);
    if (attempt.parts.length < this.config.threshold) return this.sealStatus();
    this.unsealAttempt = undefined;
    if (!attempt.parts.every((p) => this.issued(p))) return error(400, 'Unseal failed, invalid key');
    this.host.sealed = false;
    return this.sealStatus();
  }

  /** sys/generate-root/attempt (GET, PUT, DELETE) and sys/generate-root/update (PUT), by `what` after sys/generate-root/. */
  generateRoot(method: string, what: string, body: any): Answer {
    if (what === 'attempt' && method === 'GET') return this.generationStatus();
    if (what === 'attempt' && (method === 'PUT' || method === 'POST')) {
      if (typeof body?.pgp_key === 'string' && body.pgp_key !== '') return error(400, 'the stand-in does not model pgp_key');
      const given = typeof body?.otp === 'string' && body.otp !== '' ? body.otp as string : undefined;
      if (given !== undefined && given.length !== OTP_LENGTH) return error(400, 'OTP string is wrong length');
      if (this.host.sealed) return SEALED;
      if (this.generation) return error(400, 'root generation already in progress');
      this.generation = { nonce: randomUUID(), otp: given ?? base62(OTP_LENGTH), parts: [] };
      return this.generationStatus(given === undefined ? this.generation.otp : '');
    }
    if (what === 'attempt' && method === 'DELETE') {
      if (this.host.sealed) return SEALED;
      this.generation = undefined;
      return [204];
    }
    if (what === 'update' && (method === 'PUT' || method === 'POST')) return this.generationUpdate(body);
    return [405, { errors: [] }];
  }

  /** A restart: sealed again, the attempts in memory gone; the barrier's configuration and shares kept. */
  restart(): void {
    this.host.sealed = true;
    this.unsealAttempt = undefined;
    this.generation = undefined;
  }

  private issued(key: Buffer): boolean {
    return this.shares.some((s) => s.equals(key));
  }

  private generationStatus(otp = ''): Answer {
    if (!this.config) return error(400, 'server is not yet initialized');
    if (this.host.sealed) return SEALED;
    return [200, {
      started: this.generation !== undefined, nonce: this.generation?.nonce ?? '', progress: this.generation?.parts.length ?? 0,
      required: this.config.threshold, complete: false, encoded_token: '', encoded_root_token: '', pgp_fingerprint: '', otp, otp_length: OTP_LENGTH,
    }];
  }

  private generationUpdate(body: any): Answer {
    if (typeof body?.key !== 'string' || body.key === '') return error(400, "'key' must be specified in request body as JSON");
    const key = decodeKey(body.key);
    if (!key) return error(400, "'key' must be a valid hex or base64 string");
    const badLength = lengthError(key);
    if (badLength) return badLength;
    if (!this.config) return error(400, 'Vault is not initialized');
    if (this.host.sealed) return SEALED;
    const generation = this.generation;
    if (!generation) return error(400, 'no root generation in progress');
    if (body.nonce !== generation.nonce) return error(400, `incorrect nonce supplied; nonce for this root generation operation is "${generation.nonce}"`);
    if (generation.parts.some((p) => p.equals(key))) return error(400, 'given key has already been provided during this generation operation');
    generation.parts.push(key);
    const progress = generation.parts.length;
    const status = { started: true, nonce: generation.nonce, progress, required: this.config.threshold, pgp_fingerprint: '', otp: '', otp_length: 0 };
    if (progress < this.config.threshold) return [200, { ...status, complete: false, encoded_token: '', encoded_root_token: '' }];
    const parts = generation.parts;
    generation.parts = [];
    if (!parts.every((p) => this.issued(p))) return error(400, 'root generation aborted: root key verification failed: cipher: message authentication failed');
    const token = this.mintRoot();
    const otp = Buffer.from(generation.otp);
    const encoded = Buffer.from([...Buffer.from(token)].map((byte, i) => byte ^ otp[i])).toString('base64').replace(/=+$/, '');
    this.generation = undefined;
    return [200, { ...status, complete: true, encoded_token: encoded, encoded_root_token: encoded }];
  }
}
