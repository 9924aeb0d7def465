/**
 * An organization caught mid-operation (a create not yet active, a rename that
 * moves its storage, a drop marked `dropping`) is unavailable for a moment, not
 * gone: login and verify answer a retryable TENANT_UNAVAILABLE, no failed login
 * is recorded and no negative answer cached.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Collection, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { collectionPerTenant, type StepEvent, TenancyError } from '../../src/index.js';
import { authFactory, PASSWORD, strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';
import { gate } from '../support/gate.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);

/** A service whose operations can be held at one journaled step of theirs, as a slow process would leave them. */
function heldOperations() {
  let held: { op: StepEvent['op']; step: string; reached: Gate; release: Gate } | undefined;
  const afterStep = async (event: StepEvent) => {
    if (!held || event.op !== held.op || event.step !== held.step) return;
    const { reached, release } = held;
    held = undefined;
    reached.open();
    await release.closed;
  };
  const secret = strongSecret();
  const service = make({
    tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret }], revocationCacheMs: 5_000 },
    manager: { strategy: collectionPerTenant({ renameStorage: true }), hooks: { afterStep } },
  });
  /** Starts `operation` and resolves once it is held after `step` of `op`; `release()` lets it finish. */
  async function hold<T>(op: StepEvent['op'], step: string, operation: () => Promise<T>) {
    held = { op, step, reached: gate(), release: gate() };
    const { reached, release } = held;
    const running = operation();
    // An operation that ends (or fails) without reaching the step would otherwise leave the test waiting forever.
    const first = await Promise.race([reached.closed.then(() => 'held'), running.then(() => 'ended')]);
    if (first !== 'held') throw new Error(`${op} ended without reaching step ${step}`);
    return {
      release: async () => {
        release.open();
        return running;
      },
    };
  }
  return {
    ...service,
    /** A token signed with the service's own key, as its login would issue, for an admin that cannot log in yet. */
    async tokenFor(admin: { _id: ObjectId; tenantId: ObjectId; role: string; tokenVersion: number }) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ org: admin.tenantId.toHexString(), role: admin.role, ver: admin.tokenVersion })
        .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' })
        .setSubject(admin._id.toHexString())
        .setJti(randomUUID())
        .setIssuer('mongo-tenancy')
        .setAudience('mongo-tenancy')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode(secret));
    },
    /** Holds a create (with its first admin) after its admin is inserted: record `creating`, not active yet. */
    holdRegistration: (name: string, email: string) =>
      hold('create', 'prepared', () => service.auth.registerOrganization({ name, email, password: PASSWORD })),
    /** Holds a rename at step `renamed` (record `renaming`, storage not moved yet). */
    holdRename: (tenantId: string, name: string) =>
      hold('rename', 'renamed', () => service.tenants.rename(tenantId, name)),
    /** Holds a drop once its record is marked `dropping`, before its admins are removed. */
    holdDrop: (tenantId: string) => hold('drop', 'marked', () => service.tenants.drop(tenantId)),
  };
}

type Gate = ReturnType<typeof gate>;

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as TenancyError,
  );

describe('an organization being renamed', () => {
  it('login with the right password: TENANT_UNAVAILABLE with retryAfter, no failure recorded', async () => {
    const { auth, tenants, masterDbName, holdRename } = heldOperations();
    const { tenant } = await auth.registerOrganization({
      name: 'Moving Co',
      email: 'm@moving.test',
      password: PASSWORD,
    });
    const hold = await holdRename(tenant.id, 'Moved Co');
    expect((await tenants.get(tenant.id))?.status).toBe('renaming');
    for (let i = 0; i < 10; i++) {
      const error = await failure(auth.login({ email: 'm@moving.test', password: PASSWORD, clientKey: '203.0.113.9' }));
      expect(error).toBeInstanceOf(TenancyError);
      expect(error.code).toBe('TENANT_UNAVAILABLE');
      expect(error.details.retryAfter).toBeGreaterThan(0);
      expect(error.details.retryAfter).toBeLessThanOrEqual(5);
    }
    // A wrong password learns nothing about the organization's state, and counts as usual.
    expect((await failure(auth.login({ email: 'm@moving.test', password: 'wrong password!' }))).code).toBe(
      'INVALID_CREDENTIALS',
    );
    const failures = client.db(masterDbName).collection('auth_failures');
    expect(await failures.countDocuments({ key: 'client:203.0.113.9' })).toBe(0);
    expect(await failures.countDocuments({ key: 'email:m@moving.test' })).toBe(1);
    expect((await hold.release()).status).toBe('active');
    await expect(
      auth.login({ email: 'm@moving.test', password: PASSWORD, clientKey: '203.0.113.9' }),
    ).resolves.toMatchObject({ tenant: { name: 'Moved Co' } });
  });

  it('verify: TENANT_UNAVAILABLE, not cached; the same token verifies as soon as the rename ends', async () => {
    const { auth, holdRename } = heldOperations();
    const { tenant } = await auth.registerOrganization({ name: 'Busy Co', email: 'b@busy.test', password: PASSWORD });
    const { token } = await auth.login({ email: 'b@busy.test', password: PASSWORD });
    const hold = await holdRename(tenant.id, 'Busier Co');
    for (let i = 0; i < 3; i++) {
      const error = await failure(auth.verify(token));
      expect(error.code).toBe('TENANT_UNAVAILABLE');
      expect(error.details.retryAfter).toBeGreaterThan(0);
    }
    await hold.release();
    // With revocationCacheMs 5,000 and the same clock: a cached negative answer would still refuse it.
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: tenant.id });
  });

  it('createAdmin and listAdmins: TENANT_UNAVAILABLE with retryAfter', async () => {
    const { auth, holdRename } = heldOperations();
    const { tenant } = await auth.registerOrganization({
      name: 'Admins Co',
      email: 'a@admins.test',
      password: PASSWORD,
    });
    const hold = await holdRename(tenant.id, 'Admins Inc');
    // Started one at a time: a rejection must never sit unobserved while another call is awaited.
    for (const attempt of [
      () => auth.listAdmins(tenant.id),
      () => auth.createAdmin(tenant.id, { email: 'new@admins.test', password: PASSWORD }),
    ]) {
      const error = await failure(attempt());
      expect(error.code).toBe('TENANT_UNAVAILABLE');
      expect(error.details.retryAfter).toBeGreaterThan(0);
    }
    await hold.release();
    await expect(auth.listAdmins(tenant.id)).resolves.toHaveLength(1);
  });
});

/** Ten logins with the right password, each TENANT_UNAVAILABLE with a retryAfter; then one with a wrong password. */
async function loginsWhileUnavailable(
  auth: ReturnType<typeof heldOperations>['auth'],
  failures: Collection,
  email: string,
  clientKey: string,
) {
  for (let i = 0; i < 10; i++) {
    const error = await failure(auth.login({ email, password: PASSWORD, clientKey }));
    expect(error).toBeInstanceOf(TenancyError);
    expect(error.code).toBe('TENANT_UNAVAILABLE');
    expect(error.details.retryAfter).toBeGreaterThan(0);
    expect(error.details.retryAfter).toBeLessThanOrEqual(5);
  }
  // A wrong password learns nothing about the organization's state, and counts as usual.
  expect((await failure(auth.login({ email, password: 'wrong password!' }))).code).toBe('INVALID_CREDENTIALS');
  expect(await failures.countDocuments({ key: `client:${clientKey}` })).toBe(0);
  expect(await failures.countDocuments({ key: `email:${email}` })).toBe(1);
}

/** Three verifies of `token`, each TENANT_UNAVAILABLE with a retryAfter: never a (cached) TOKEN_REVOKED. */
async function verifiesWhileUnavailable(auth: ReturnType<typeof heldOperations>['auth'], token: string) {
  for (let i = 0; i < 3; i++) {
    const error = await failure(auth.verify(token));
    expect(error.code).toBe('TENANT_UNAVAILABLE');
    expect(error.details.retryAfter).toBeGreaterThan(0);
  }
}

const adminByEmail = (masterDbName: string, email: string) =>
  client
    .db(masterDbName)
    .collection<{ _id: ObjectId; tenantId: ObjectId; role: string; tokenVersion: number }>('organization_admins')
    .findOne({ email });

describe('an organization being created', () => {
  it('login with the right password: TENANT_UNAVAILABLE with retryAfter, no failure recorded', async () => {
    const { auth, tenants, masterDbName, holdRegistration } = heldOperations();
    const hold = await holdRegistration('Nascent Co', 'n@nascent.test');
    expect(await tenants.get({ name: 'Nascent Co' })).toMatchObject({ status: 'creating' });
    expect(await adminByEmail(masterDbName, 'n@nascent.test')).not.toBeNull();
    const failures = client.db(masterDbName).collection('auth_failures');
    await loginsWhileUnavailable(auth, failures, 'n@nascent.test', '203.0.113.10');
    const { tenant } = await hold.release();
    expect(tenant.status).toBe('active');
    await expect(
      auth.login({ email: 'n@nascent.test', password: PASSWORD, clientKey: '203.0.113.10' }),
    ).resolves.toMatchObject({ tenant: { id: tenant.id, status: 'active' } });
  });

  it('verify: TENANT_UNAVAILABLE, not cached; the same token verifies as soon as the create ends', async () => {
    const { auth, tenants, masterDbName, holdRegistration, tokenFor } = heldOperations();
    const hold = await holdRegistration('Early Co', 'e@early.test');
    expect(await tenants.get({ name: 'Early Co' })).toMatchObject({ status: 'creating' });
    const admin = await adminByEmail(masterDbName, 'e@early.test');
    const token = await tokenFor(admin as NonNullable<typeof admin>);
    await verifiesWhileUnavailable(auth, token);
    const { tenant } = await hold.release();
    // With revocationCacheMs 5,000 and the same clock: a cached negative answer would still refuse it.
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: tenant.id, adminId: admin?._id.toHexString() });
  });
});

describe('an organization being dropped', () => {
  it('login with the right password: TENANT_UNAVAILABLE with retryAfter, no failure recorded', async () => {
    const { auth, tenants, masterDbName, holdDrop } = heldOperations();
    const { tenant } = await auth.registerOrganization({
      name: 'Doomed Co',
      email: 'd@doomed.test',
      password: PASSWORD,
    });
    const hold = await holdDrop(tenant.id);
    expect(await tenants.get(tenant.id)).toMatchObject({ status: 'dropping' });
    const failures = client.db(masterDbName).collection('auth_failures');
    await loginsWhileUnavailable(auth, failures, 'd@doomed.test', '203.0.113.11');
    expect(await hold.release()).toBe(true);
    // Once it is gone, the right password is an ordinary failure.
    expect((await failure(auth.login({ email: 'd@doomed.test', password: PASSWORD }))).code).toBe(
      'INVALID_CREDENTIALS',
    );
  });

  it('verify: TENANT_UNAVAILABLE each time while dropping, not cached; TOKEN_REVOKED once it is gone', async () => {
    const { auth, tenants, holdDrop } = heldOperations();
    const { tenant } = await auth.registerOrganization({
      name: 'Fading Co',
      email: 'f@fading.test',
      password: PASSWORD,
    });
    const { token } = await auth.login({ email: 'f@fading.test', password: PASSWORD });
    const hold = await holdDrop(tenant.id);
    expect(await tenants.get(tenant.id)).toMatchObject({ status: 'dropping' });
    // With revocationCacheMs 5,000: a negative answer cached by the first call would make the next TOKEN_REVOKED.
    await verifiesWhileUnavailable(auth, token);
    expect(await hold.release()).toBe(true);
    expect((await failure(auth.verify(token))).code).toBe('TOKEN_REVOKED');
  });
});

describe('a suspended organization keeps its answers', () => {
  it('login INVALID_CREDENTIALS (a failure), verify TOKEN_REVOKED, no retryAfter', async () => {
    const { auth, tenants } = make();
    const { tenant } = await auth.registerOrganization({
      name: 'Paused Co',
      email: 'p@paused.test',
      password: PASSWORD,
    });
    const { token } = await auth.login({ email: 'p@paused.test', password: PASSWORD });
    await tenants.suspend(tenant.id);
    const login = await failure(auth.login({ email: 'p@paused.test', password: PASSWORD }));
    expect(login.code).toBe('INVALID_CREDENTIALS');
    const verify = await failure(auth.verify(token));
    expect(verify.code).toBe('TOKEN_REVOKED');
    expect(verify.details.retryAfter).toBeUndefined();
    const unavailable = await failure(auth.listAdmins(tenant.id));
    expect(unavailable.code).toBe('TENANT_UNAVAILABLE');
    expect(unavailable.details.retryAfter).toBeUndefined();
  });
});
