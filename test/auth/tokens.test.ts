/** Attacks on tokens, each its own test, against real jose and a real database. */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { base64url, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthService, bcryptHasher, TenancyError, type TokenKey } from '../../src/index.js';
import { authFactory, PASSWORD, strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);

const secret = strongSecret();
const hsKey: TokenKey = { kid: 'hs-1', alg: 'HS256', secret };
const ed = generateKeyPairSync('ed25519');
const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });

async function session(keys: TokenKey[] = [hsKey]) {
  const made = make({ tokens: { keys, revocationCacheMs: 0 } });
  const { admin, tenant } = await made.auth.registerOrganization({
    name: `Org ${randomUUID()}`,
    email: `${randomUUID()}@t.test`,
    password: PASSWORD,
  });
  const { token } = await made.auth.login({ email: admin.email, password: PASSWORD });
  return { ...made, admin, tenant, token };
}

/** Claims as the service issues them, for forging variants. */
function claims(s: { admin: { id: string }; tenant: { id: string } }, now = Math.floor(Date.now() / 1000)) {
  return {
    sub: s.admin.id,
    org: s.tenant.id,
    role: 'owner',
    ver: 0,
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
    iss: 'mongo-tenancy',
    aud: 'mongo-tenancy',
  };
}

function forge(
  payload: Record<string, unknown>,
  header: Record<string, unknown>,
  key: Uint8Array | import('node:crypto').KeyObject,
) {
  return new SignJWT(payload).setProtectedHeader(header as never).sign(key);
}

const hsBytes = new TextEncoder().encode(secret);
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: unknown) => (e instanceof TenancyError ? e.code : `raw ${String(e)}`),
  );

describe('token attacks', () => {
  it('accepts the genuine token (control)', async () => {
    const s = await session();
    expect(
      await code(s.auth.verify(await forge(claims(s), { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' }, hsBytes))),
    ).toBe('accepted');
  });

  it('alg: none', async () => {
    const s = await session();
    const [, payload] = s.token.split('.');
    const header = base64url.encode(JSON.stringify({ alg: 'none', kid: 'hs-1', typ: 'at+jwt' }));
    expect(await code(s.auth.verify(`${header}.${payload}.`))).toBe('TOKEN_INVALID');
  });

  it('HS512 where the ring is HS256', async () => {
    const s = await session();
    expect(
      await code(s.auth.verify(await forge(claims(s), { alg: 'HS512', kid: 'hs-1', typ: 'at+jwt' }, hsBytes))),
    ).toBe('TOKEN_INVALID');
  });

  it('HS256 signed with the public key of an asymmetric ring', async () => {
    const s = await session([{ kid: 'ed-1', alg: 'EdDSA', privateKey: ed.privateKey }]);
    const publicBytes = new TextEncoder().encode(ed.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    expect(
      await code(s.auth.verify(await forge(claims(s), { alg: 'HS256', kid: 'ed-1', typ: 'at+jwt' }, publicBytes))),
    ).toBe('TOKEN_INVALID');
  });

  it('a tampered payload', async () => {
    const s = await session();
    const [header, , signature] = s.token.split('.');
    const payload = base64url.encode(JSON.stringify({ ...claims(s), org: '0123456789abcdef01234567' }));
    expect(await code(s.auth.verify(`${header}.${payload}.${signature}`))).toBe('TOKEN_INVALID');
  });

  it('a missing exp', async () => {
    const s = await session();
    const { exp: _exp, ...noExp } = claims(s);
    expect(await code(s.auth.verify(await forge(noExp, { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' }, hsBytes)))).toBe(
      'TOKEN_INVALID',
    );
  });

  it.each([
    ['iss', { iss: 'https://evil.test' }, {}],
    ['aud', { aud: 'someone-else' }, {}],
    ['typ', {}, { typ: 'JWT' }],
    ['no typ', {}, { typ: undefined }],
  ])('a wrong %s', async (_label, payloadChange, headerChange) => {
    const s = await session();
    const token = await forge(
      { ...claims(s), ...payloadChange },
      { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt', ...headerChange },
      hsBytes,
    );
    expect(await code(s.auth.verify(token))).toBe('TOKEN_INVALID');
  });

  it('expired', async () => {
    const s = await session();
    const past = Math.floor(Date.now() / 1000) - 3_600;
    expect(
      await code(s.auth.verify(await forge(claims(s, past), { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' }, hsBytes))),
    ).toBe('TOKEN_EXPIRED');
  });

  it('not yet valid (nbf or iat in the future)', async () => {
    const s = await session();
    const later = Math.floor(Date.now() / 1000) + 3_600;
    const header = { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' };
    expect(await code(s.auth.verify(await forge({ ...claims(s), nbf: later }, header, hsBytes)))).toBe('TOKEN_INVALID');
    expect(await code(s.auth.verify(await forge(claims(s, later), header, hsBytes)))).toBe('TOKEN_INVALID');
  });

  it.each(['__proto__', 'constructor', '../../dev/null', 'unknown-kid', ''])('kid %j', async (kid) => {
    const s = await session();
    expect(await code(s.auth.verify(await forge(claims(s), { alg: 'HS256', kid, typ: 'at+jwt' }, hsBytes)))).toBe(
      'TOKEN_INVALID',
    );
  });

  it.each(['jku', 'x5u'])('a %s header pointing elsewhere is refused, never followed', async (name) => {
    const s = await session();
    const header = { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt', [name]: 'http://127.0.0.1:9/jwks.json' };
    expect(await code(s.auth.verify(await forge(claims(s), header, hsBytes)))).toBe('TOKEN_INVALID');
  });

  it('a token signed by a retired key', async () => {
    const old: TokenKey = { kid: 'old', alg: 'HS256', secret: strongSecret() };
    const s = await session([old]);
    const rotated = new AuthService({
      tenants: s.tenants,
      hasher: bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
      tokens: { keys: [{ kid: 'new', alg: 'HS256', secret: strongSecret() }], revocationCacheMs: 0 },
    });
    expect(await code(rotated.verify(s.token))).toBe('TOKEN_INVALID');
  });

  it('rotation: a ring with the old and new keys verifies both and signs with the new', async () => {
    const old: TokenKey = { kid: 'old', alg: 'HS256', secret: strongSecret() };
    const s = await session([old]);
    const ring = [old, { kid: 'new', alg: 'HS256' as const, secret: strongSecret() }];
    const rotated = new AuthService({
      tenants: s.tenants,
      hasher: bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
      tokens: { keys: ring, revocationCacheMs: 0 },
    });
    expect(await code(rotated.verify(s.token))).toBe('accepted');
    const fresh = await rotated.login({ email: s.admin.email, password: PASSWORD });
    expect(JSON.parse(Buffer.from(fresh.token.split('.')[0] as string, 'base64url').toString())).toMatchObject({
      kid: 'new',
      alg: 'HS256',
      typ: 'at+jwt',
    });
  });

  it.each([
    ['EdDSA', { kid: 'ed', alg: 'EdDSA', privateKey: ed.privateKey }],
    ['ES256', { kid: 'es', alg: 'ES256', privateKey: es.privateKey }],
  ] as const)('%s rings sign, verify and publish their public keys only', async (alg, key) => {
    const s = await session([key as TokenKey]);
    expect(await s.auth.verify(s.token)).toMatchObject({ adminId: s.admin.id });
    const { keys } = await s.auth.jwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kid: key.kid, alg, use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('garbage and non-strings', async () => {
    const s = await session();
    for (const token of ['', 'a.b.c', 'x'.repeat(10_000), { $ne: null }, 42, null]) {
      expect(await code(s.auth.verify(token as string))).toBe('TOKEN_INVALID');
    }
  });
});

describe('weak secrets are refused at construction', () => {
  it.each([
    ['secret', 'secret'],
    ['changeme', 'changeme'],
    ['the original’s example', 'your-incredibly-secure-and-long-secret-key'],
    ['31 bytes', 'x7Kp2mQ9vL4nR8tW1zY6bH3jF5dG0a'],
    ['low entropy', 'abababababababababababababababababab'],
  ])('%s', async (_label, weak) => {
    const { tenants } = make();
    const attempt = () => new AuthService({ tenants, tokens: { keys: [{ kid: 'k', alg: 'HS256', secret: weak }] } });
    expect(attempt).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        details: expect.objectContaining({ field: 'tokens.keys.0.secret' }),
      }),
    );
  });

  it.each([
    ['an unset environment variable', undefined],
    ['null', null],
    ['an empty string', ''],
    ['a number', 42],
  ])('refuses %s as the secret with INVALID_OPTIONS naming it, not a TypeError', (_label, missing) => {
    const { tenants } = make();
    const keys = [hsKey, { kid: 'next', alg: 'HS256', secret: missing }] as TokenKey[];
    let thrown: unknown;
    try {
      new AuthService({ tenants, tokens: { keys } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TenancyError);
    expect(thrown).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'tokens.keys.1.secret' } });
  });

  it('refuses a bcrypt cost below 10 outside the test option', () => {
    expect(() => bcryptHasher({ cost: 9 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => bcryptHasher({ cost: 4, allowInsecureCostForTests: true })).not.toThrow();
  });

  it('refuses a clock tolerance over 60 s and an empty ring', () => {
    const { tenants } = make();
    expect(() => new AuthService({ tenants, tokens: { keys: [hsKey], clockToleranceSeconds: 61 } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => new AuthService({ tenants, tokens: { keys: [] } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe('key material is checked at construction', () => {
  it('refuses a private key given as the public key, so jwks() can never publish it', () => {
    const { tenants } = make();
    const attempt = (key: TokenKey) => () => new AuthService({ tenants, tokens: { keys: [key] } });
    expect(attempt({ kid: 'e', alg: 'EdDSA', publicKey: ed.privateKey })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    const other = generateKeyPairSync('ed25519');
    expect(attempt({ kid: 'e', alg: 'EdDSA', privateKey: ed.privateKey, publicKey: other.publicKey })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(attempt({ kid: 'e', alg: 'ES256', privateKey: ed.privateKey })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(attempt({ kid: 'e', alg: 'EdDSA', privateKey: ed.privateKey, publicKey: ed.publicKey })).not.toThrow();
  });
});

describe('the verified-token cache', () => {
  it('never outlives exp, and still checks revocation on every call', async () => {
    let now = Date.now();
    const made = make({
      clock: () => new Date(now),
      tokens: { keys: [hsKey], revocationCacheMs: 60_000, ttlSeconds: 60 },
    });
    const { admin } = await made.auth.registerOrganization({
      name: `Org ${randomUUID()}`,
      email: `${randomUUID()}@t.test`,
      password: PASSWORD,
    });
    const { token } = await made.auth.login({ email: admin.email, password: PASSWORD });
    await made.auth.verify(token); // cached now
    now += 30_000;
    expect(await code(made.auth.verify(token))).toBe('accepted');
    await made.auth.revokeAll(admin.id);
    expect(await code(made.auth.verify(token))).toBe('TOKEN_REVOKED');
    const second = await made.auth.login({ email: admin.email, password: PASSWORD });
    await made.auth.verify(second.token);
    now += 61_000 + 5_000 + 1; // past exp and the clock tolerance
    expect(await code(made.auth.verify(second.token))).toBe('TOKEN_EXPIRED');
  });
});
