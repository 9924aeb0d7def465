/**
 * An organization caught mid-operation (here: a rename that moves its storage)
 * is unavailable for a moment, not gone: login and verify answer a retryable
 * TENANT_UNAVAILABLE, no failed login is recorded and no negative answer cached.
 */
import { describe, expect, it } from 'vitest';
import { collectionPerTenant, type StepEvent, TenancyError } from '../../src/index.js';
import { authFactory, PASSWORD, strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';
import { gate } from '../support/gate.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);

/** A service whose renames can be held at step `renamed` (record `renaming`, storage not moved yet). */
function heldRenames() {
  let held: { reached: ReturnType<typeof gate>; release: ReturnType<typeof gate> } | undefined;
  const afterStep = async (event: StepEvent) => {
    if (event.op !== 'rename' || event.step !== 'renamed' || !held) return;
    const { reached, release } = held;
    held = undefined;
    reached.open();
    await release.closed;
  };
  const service = make({
    tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }], revocationCacheMs: 5_000 },
    manager: { strategy: collectionPerTenant({ renameStorage: true }), hooks: { afterStep } },
  });
  return {
    ...service,
    /** Starts a rename and resolves once it is held in `renaming`; `release()` lets it finish. */
    async holdRename(tenantId: string, name: string) {
      held = { reached: gate(), release: gate() };
      const { reached, release } = held;
      const renaming = service.tenants.rename(tenantId, name);
      await reached.closed;
      return {
        release: async () => {
          release.open();
          return renaming;
        },
      };
    },
  };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as TenancyError,
  );

describe('an organization being renamed', () => {
  it('login with the right password: TENANT_UNAVAILABLE with retryAfter, no failure recorded', async () => {
    const { auth, tenants, masterDbName, holdRename } = heldRenames();
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
    const { auth, holdRename } = heldRenames();
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
    const { auth, holdRename } = heldRenames();
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
