/**
 * Access tokens: a key ring with `kid`s, signing with jose, and verification
 * pinned to the ring's algorithms. Every failure, whatever jose throws,
 * becomes a `TOKEN_INVALID` or `TOKEN_EXPIRED` {@link TenancyError}.
 */
import { createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import {
  exportJWK,
  type JWK,
  type JWTHeaderParameters,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
} from 'jose';
import { TenancyError } from '../errors.js';
import { isHexId } from '../internal/ids.js';

type CryptoKey = webcrypto.CryptoKey;

/** Token signing algorithms a ring may use. */
export type TokenAlgorithm = 'HS256' | 'EdDSA' | 'ES256';

/** One key of the ring. The last key that can sign is the signing key; every listed key verifies. */
export type TokenKey =
  | { kid: string; alg: 'HS256'; secret: string | Uint8Array }
  | { kid: string; alg: 'EdDSA' | 'ES256'; privateKey?: KeyObject; publicKey?: KeyObject };

/** The `typ` header of access tokens (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Headers that point at keys elsewhere; a token carrying one is refused, never followed. */
const FOREIGN_KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const KNOWN_PLACEHOLDERS = [
  'secret',
  'changeme',
  'change-me',
  'your-incredibly-secure-and-long-secret-key',
  'your-secret-key',
  'supersecret',
  'password',
];
/** The fewest bytes an HS256 secret may have. */
export const MIN_SECRET_BYTES = 32;

interface RingKey {
  kid: string;
  alg: TokenAlgorithm;
  verifyKey: KeyObject | Uint8Array;
  signKey: KeyObject | Uint8Array | undefined;
  /** WebCrypto keys, imported once on first use: jose would otherwise convert the key on every call. */
  verifyCrypto?: Promise<CryptoKey>;
  signCrypto?: Promise<CryptoKey>;
}

const WEBCRYPTO_ALGORITHM = {
  HS256: { name: 'HMAC', hash: 'SHA-256' },
  EdDSA: { name: 'Ed25519' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
} as const;

function importCryptoKey(
  alg: TokenAlgorithm,
  key: KeyObject | Uint8Array,
  usage: 'sign' | 'verify',
): Promise<CryptoKey> {
  const algorithm = WEBCRYPTO_ALGORITHM[alg];
  if (key instanceof Uint8Array) return webcrypto.subtle.importKey('raw', key, algorithm, false, [usage]);
  const format = key.type === 'private' ? 'pkcs8' : 'spki';
  return webcrypto.subtle.importKey(format, key.export({ type: format, format: 'der' }), algorithm, false, [usage]);
}

function cryptoKeyFor(key: RingKey, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  if (usage === 'sign') {
    key.signCrypto ??= importCryptoKey(key.alg, key.signKey as KeyObject | Uint8Array, 'sign');
    return key.signCrypto;
  }
  key.verifyCrypto ??= importCryptoKey(key.alg, key.verifyKey, 'verify');
  return key.verifyCrypto;
}

/** How to make a good secret, for the messages of refused ones. */
const SECRET_HINT =
  "generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"";

/** Why an HS256 secret is refused, or `null` when it is strong enough. */
export function weakSecretReason(secret: unknown): string | null {
  if (secret === undefined || secret === null) {
    return `is ${secret}: give a string or a Uint8Array of at least ${MIN_SECRET_BYTES} random bytes (is the environment variable set?)`;
  }
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    return `must be a string or a Uint8Array, not ${Array.isArray(secret) ? 'an array' : typeof secret}`;
  }
  if (secret.length === 0) return 'is empty (is the environment variable set?)';
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  const text = bytes.toString('utf8').toLowerCase();
  // The longest match names the placeholder best ("your-secret-key" rather than "secret").
  const placeholder = KNOWN_PLACEHOLDERS.filter((p) => text.includes(p)).sort((a, b) => b.length - a.length)[0];
  if (placeholder) return `contains the well-known placeholder ${JSON.stringify(placeholder)}`;
  if (bytes.length < MIN_SECRET_BYTES) return `is shorter than ${MIN_SECRET_BYTES} bytes (${bytes.length})`;
  if (new Set(bytes).size < 10) return 'has too few distinct bytes to be random';
  return null;
}

export interface SignInput {
  sub: string;
  org: string;
  role: string;
  ver: number;
  jti: string;
}

export interface VerifiedPayload extends SignInput {
  exp: number;
  iat: number;
}

export interface RingSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clockToleranceSeconds: number;
}

export class KeyRing {
  readonly algorithms: TokenAlgorithm[];
  readonly #byKid = new Map<string, RingKey>();
  readonly #signer: RingKey;
  readonly #settings: RingSettings;

  /** @throws {@link TenancyError} `INVALID_OPTIONS` for an empty ring, duplicate kids, weak secrets or missing key material. */
  readonly #resolveKey = (header: JWTHeaderParameters) => this.#keyFor(header);
  readonly #verifyOptions: JWTVerifyOptions;

  constructor(keys: readonly TokenKey[], settings: RingSettings) {
    this.#settings = settings;
    let signer: RingKey | undefined;
    keys.forEach((key, index) => {
      const ringKey = toRingKey(key, index);
      if (this.#byKid.has(ringKey.kid)) throw invalidKey(index, `duplicate kid ${JSON.stringify(ringKey.kid)}`);
      this.#byKid.set(ringKey.kid, ringKey);
      if (ringKey.signKey) signer = ringKey;
    });
    if (!signer) throw invalidKey(0, 'no key can sign (give a secret or a private key)');
    this.#signer = signer;
    this.algorithms = [...new Set([...this.#byKid.values()].map((k) => k.alg))];
    this.#verifyOptions = {
      algorithms: this.algorithms,
      issuer: settings.issuer,
      audience: settings.audience,
      typ: ACCESS_TOKEN_TYPE,
      clockTolerance: settings.clockToleranceSeconds,
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'iss', 'aud'],
    };
  }

  async sign(input: SignInput, now: Date): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.#settings.ttlSeconds;
    const token = await new SignJWT({ org: input.org, role: input.role, ver: input.ver })
      .setProtectedHeader({ alg: this.#signer.alg, kid: this.#signer.kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(input.sub)
      .setJti(input.jti)
      .setIssuer(this.#settings.issuer)
      .setAudience(this.#settings.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(await cryptoKeyFor(this.#signer, 'sign'));
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Verifies signature and claims at `now` (`systemTime`: `now` is the system clock's, so jose may read it itself).
   *
   * @throws {@link TenancyError} `TOKEN_EXPIRED`, or `TOKEN_INVALID` for anything else wrong.
   */
  async verify(token: unknown, now: Date, systemTime: boolean): Promise<VerifiedPayload> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw tokenInvalid();
    try {
      // With the system clock, jose reads the time itself: building options per call costs about a tenth of a verify.
      const options = systemTime ? this.#verifyOptions : { ...this.#verifyOptions, currentDate: now };
      const { payload } = await jwtVerify(token, this.#resolveKey, options);
      return checkPayload(payload, now, this.#settings.clockToleranceSeconds);
    } catch (error) {
      if (error instanceof TenancyError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new TenancyError('TOKEN_EXPIRED', undefined, { cause: error });
      throw tokenInvalid(error);
    }
  }

  /** The public keys of the ring's asymmetric keys, as a JWK Set. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const keys: JWK[] = [];
    for (const key of this.#byKid.values()) {
      if (key.alg === 'HS256') continue;
      keys.push({ ...(await exportJWK(key.verifyKey as KeyObject)), kid: key.kid, alg: key.alg, use: 'sig' });
    }
    return { keys };
  }

  #keyFor(header: JWTHeaderParameters): Promise<CryptoKey> {
    if (FOREIGN_KEY_HEADERS.some((name) => name in header)) throw tokenInvalid();
    const key = typeof header.kid === 'string' ? this.#byKid.get(header.kid) : undefined;
    if (!key || key.alg !== header.alg) throw tokenInvalid();
    return cryptoKeyFor(key, 'verify');
  }
}

function tokenInvalid(cause?: unknown): TenancyError<'TOKEN_INVALID'> {
  return new TenancyError('TOKEN_INVALID', undefined, cause === undefined ? undefined : { cause });
}

function invalidKey(index: number, message: string, property?: string): TenancyError<'INVALID_OPTIONS'> {
  const field = `tokens.keys.${index}${property ? `.${property}` : ''}`;
  return new TenancyError('INVALID_OPTIONS', `${field}: ${message}`, { details: { field } });
}

function toRingKey(key: TokenKey, index: number): RingKey {
  if (typeof key?.kid !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(key.kid)) {
    throw invalidKey(index, 'kid must be 1 to 64 of [A-Za-z0-9._-]');
  }
  if (key.alg === 'HS256') {
    const weak = weakSecretReason(key.secret);
    if (weak) throw invalidKey(index, `the HS256 secret ${weak}; ${SECRET_HINT}`, 'secret');
    const secret = typeof key.secret === 'string' ? new TextEncoder().encode(key.secret) : new Uint8Array(key.secret);
    return { kid: key.kid, alg: key.alg, verifyKey: secret, signKey: secret };
  }
  if (key.alg !== 'EdDSA' && key.alg !== 'ES256') throw invalidKey(index, 'alg must be HS256, EdDSA or ES256');
  const expected = key.alg === 'EdDSA' ? 'ed25519' : 'ec';
  const { privateKey } = key;
  if (key.publicKey && key.publicKey.type !== 'public') throw invalidKey(index, 'publicKey must be a public key');
  if (privateKey && privateKey.type !== 'private') throw invalidKey(index, 'privateKey must be a private key');
  // The published key is always derived as public: a private key can never reach jwks().
  const derived = privateKey ? createPublicKey(privateKey) : undefined;
  const publicKey = key.publicKey ?? derived;
  if (!publicKey || publicKey.asymmetricKeyType !== expected) {
    throw invalidKey(index, `${key.alg} needs an ${expected} publicKey or privateKey (node:crypto KeyObject)`);
  }
  if (key.alg === 'ES256' && publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw invalidKey(index, 'ES256 needs a P-256 key');
  }
  if (derived && key.publicKey && !derived.equals(key.publicKey)) {
    throw invalidKey(index, 'publicKey and privateKey are not a pair');
  }
  return { kid: key.kid, alg: key.alg, verifyKey: publicKey, signKey: privateKey };
}

function checkPayload(payload: Record<string, unknown>, now: Date, toleranceSeconds: number): VerifiedPayload {
  const { sub, org, role, ver, jti, exp, iat } = payload;
  const valid =
    isHexId(sub) &&
    isHexId(org) &&
    typeof role === 'string' &&
    Number.isSafeInteger(ver) &&
    (ver as number) >= 0 &&
    typeof jti === 'string' &&
    typeof exp === 'number' &&
    typeof iat === 'number' &&
    iat <= now.getTime() / 1000 + toleranceSeconds;
  if (!valid) throw tokenInvalid();
  return { sub, org, role, ver: ver as number, jti, exp, iat } as VerifiedPayload;
}
