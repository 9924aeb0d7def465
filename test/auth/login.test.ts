/** Logins under attack: brute force, enumeration, injection, and passwords bcrypt would truncate. */
import { describe, expect, it } from 'vitest';
import { bcryptHasher, isTenancyError, type PasswordHasher, TenancyError } from '../../src/index.js';
import { authFactory, PASSWORD } from '../support/auth.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof TenancyError ? e.code : `raw ${String(e)}`),
  );

describe('lockout', () => {
  it.each([
    ['an existing email', true],
    ['an unknown email', false],
  ])('locks %s after 5 failures, even with the right password, until the window passes', async (_label, exists) => {
    let now = Date.now();
    const { auth } = make({ clock: () => new Date(now) });
    if (exists) await auth.registerOrganization({ name: 'Locky', email: 'lock@x.test', password: PASSWORD });
    for (let i = 0; i < 5; i++)
      expect(await code(auth.login({ email: 'lock@x.test', password: 'wrong password!' }))).toBe('INVALID_CREDENTIALS');
    const locked = await auth.login({ email: 'lock@x.test', password: PASSWORD }).catch((e: unknown) => e);
    expect(locked).toMatchObject({ code: 'LOCKED' });
    expect((locked as TenancyError).details.retryAfter).toBeGreaterThan(14 * 60);
    expect((locked as TenancyError).details.retryAfter).toBeLessThanOrEqual(15 * 60);
    now += 15 * 60_000 + 1;
    expect(await code(auth.login({ email: 'lock@x.test', password: PASSWORD }))).toBe(
      exists ? 'ok' : 'INVALID_CREDENTIALS',
    );
  });

  it('locks a client key across emails', async () => {
    const { auth } = make();
    for (let i = 0; i < 5; i++)
      await code(auth.login({ email: `spray${i}@x.test`, password: 'wrong password!', clientKey: '203.0.113.7' }));
    expect(
      await code(auth.login({ email: 'other@x.test', password: 'wrong password!', clientKey: '203.0.113.7' })),
    ).toBe('LOCKED');
    expect(
      await code(auth.login({ email: 'other@x.test', password: 'wrong password!', clientKey: '198.51.100.1' })),
    ).toBe('INVALID_CREDENTIALS');
  });

  it('counts 50 concurrent wrong passwords exactly, and keeps counts across a new service', async () => {
    const { auth, masterDbName } = make({ throttle: { maxFailures: 1_000 } });
    await auth.registerOrganization({ name: 'Burst', email: 'burst@x.test', password: PASSWORD });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => code(auth.login({ email: 'burst@x.test', password: 'wrong password!' }))),
    );
    expect(results.every((r) => r === 'INVALID_CREDENTIALS')).toBe(true);
    const failures = client.db(masterDbName).collection('auth_failures');
    expect(await failures.countDocuments({ key: 'email:burst@x.test' })).toBe(50);
    const restarted = make({ masterDbName, throttle: { maxFailures: 50 } }).auth;
    expect(await code(restarted.login({ email: 'burst@x.test', password: PASSWORD }))).toBe('LOCKED');
  });
});

describe('enumeration', () => {
  it('an unknown email runs one real comparison against a valid hash of the configured cost, and fails like a wrong password', async () => {
    const real = bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' });
    const seen: Array<{ hash: string }> = [];
    const spy: PasswordHasher = {
      hash: (p) => real.hash(p),
      verify: (p, hash) => {
        seen.push({ hash });
        return real.verify(p, hash);
      },
    };
    const { auth } = make({ hasher: spy });
    await auth.registerOrganization({ name: 'Enum', email: 'known@x.test', password: PASSWORD });
    const wrong = await auth.login({ email: 'known@x.test', password: 'wrong password!' }).catch((e: unknown) => e);
    const unknown = await auth.login({ email: 'nobody@x.test', password: 'wrong password!' }).catch((e: unknown) => e);
    expect(seen).toHaveLength(2);
    expect(seen[1]?.hash).toMatch(/^\$2[aby]\$04\$[./A-Za-z0-9]{53}$/);
    expect(seen[1]?.hash).not.toBe(seen[0]?.hash);
    for (const error of [wrong, unknown]) expect(isTenancyError(error, 'INVALID_CREDENTIALS')).toBe(true);
    expect({ ...(unknown as TenancyError), message: (unknown as TenancyError).message }).toEqual({
      ...(wrong as TenancyError),
      message: (wrong as TenancyError).message,
    });
  });

  it('a deactivated admin fails exactly like a wrong password', async () => {
    const { auth } = make();
    const { admin } = await auth.registerOrganization({ name: 'Inactive', email: 'gone@x.test', password: PASSWORD });
    await auth.deactivate(admin.id);
    expect(await code(auth.login({ email: 'gone@x.test', password: PASSWORD }))).toBe('INVALID_CREDENTIALS');
  });
});

describe('operator injection', () => {
  it.each([
    ['email $ne', { email: { $ne: null }, password: PASSWORD }],
    ['email $gt', { email: { $gt: '' }, password: PASSWORD }],
    ['password $ne', { email: 'inj@x.test', password: { $ne: null } }],
    ['email array', { email: ['inj@x.test'], password: PASSWORD }],
    ['password array', { email: 'inj@x.test', password: [PASSWORD] }],
    ['extra field', { email: 'inj@x.test', password: PASSWORD, $where: '1' }],
  ])('%s is a validation error and runs no query with it', async (_label, input) => {
    const { auth, masterDbName } = make();
    await auth.registerOrganization({ name: 'Inj', email: 'inj@x.test', password: PASSWORD });
    expect(await code(auth.login(input as never))).toBe('INVALID_INPUT');
    expect(await code(auth.registerOrganization({ name: 'Inj2', ...(input as object) } as never))).toBe(
      'INVALID_INPUT',
    );
    expect(await client.db(masterDbName).collection('auth_failures').countDocuments()).toBe(0);
  });
});

describe('passwords', () => {
  it.each([
    ['73 ASCII bytes', 'a'.repeat(73)],
    ['72 characters of 2-byte UTF-8', 'é'.repeat(40)],
    ['emoji past 72 bytes', '🔐'.repeat(19)],
  ])('refuses %s instead of truncating', async (_label, password) => {
    const { auth } = make();
    expect(await code(auth.registerOrganization({ name: 'Long', email: 'long@x.test', password }))).toBe(
      'WEAK_PASSWORD',
    );
  });

  it('accepts exactly 72 bytes, and a password differing after byte 72 would never exist', async () => {
    const { auth } = make();
    const password = `${'a'.repeat(71)}b`; // 72 ASCII bytes
    expect(Buffer.byteLength(password)).toBe(72);
    await auth.registerOrganization({ name: 'Edge', email: 'edge@x.test', password });
    expect(await code(auth.login({ email: 'edge@x.test', password }))).toBe('ok');
    expect(await code(auth.login({ email: 'edge@x.test', password: `${password}c` }))).toBe('INVALID_CREDENTIALS');
  });

  it('NFC and NFD forms of one password both log in', async () => {
    const { auth } = make();
    const nfc = 'Crème brûlée 2024'.normalize('NFC');
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    await auth.registerOrganization({ name: 'Unicode', email: 'u@x.test', password: nfd });
    expect(await code(auth.login({ email: 'u@x.test', password: nfc }))).toBe('ok');
    expect(await code(auth.login({ email: 'u@x.test', password: nfd }))).toBe('ok');
  });

  it('refuses passwords shorter than 8 characters', async () => {
    const { auth } = make();
    expect(await code(auth.registerOrganization({ name: 'Short', email: 's@x.test', password: 'seven77' }))).toBe(
      'WEAK_PASSWORD',
    );
  });

  it('hashes in worker threads by default, with real bcrypt hashes', async () => {
    const pooled = bcryptHasher({ cost: 4, allowInsecureCostForTests: true, workers: 2 });
    const hash = await pooled.hash(PASSWORD);
    expect(hash).toMatch(/^\$2b\$04\$/);
    expect(await pooled.verify(PASSWORD, hash)).toBe(true);
    expect(await pooled.verify('nope nope nope', hash)).toBe(false);
    await pooled.close?.();
  });
});

describe('bursts', () => {
  it('30 concurrent guesses for one email get at most 5 password checks; the rest are LOCKED', async () => {
    const real = bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' });
    let checks = 0;
    const counting: PasswordHasher = {
      hash: (p) => real.hash(p),
      verify: (p, h) => {
        checks += 1;
        return real.verify(p, h);
      },
    };
    const { auth } = make({ hasher: counting });
    await auth.registerOrganization({ name: 'Burst Target', email: 'target@x.test', password: PASSWORD });
    await auth.init();
    checks = 0;
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () => code(auth.login({ email: 'target@x.test', password: 'guess guess guess' }))),
    );
    expect(checks).toBeLessThanOrEqual(5);
    expect(outcomes.filter((o) => o === 'INVALID_CREDENTIALS')).toHaveLength(checks);
    expect(outcomes.filter((o) => o === 'LOCKED')).toHaveLength(30 - checks);
  });
});
