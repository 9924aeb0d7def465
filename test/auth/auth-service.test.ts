import { describe, expect, it } from 'vitest';
import { bcryptHasher, isTenancyError } from '../../src/index.js';
import { authFactory, PASSWORD, strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';
import { dieAt, gate } from '../support/gate.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);

describe('register, login, verify, authorize', () => {
  it('registers an organization with its owner and keeps the admin reference', async () => {
    const { auth, tenants } = make();
    const { tenant, admin } = await auth.registerOrganization({
      name: 'Acme Corp',
      email: ' Ada@Acme.TEST ',
      password: PASSWORD,
    });
    expect(admin).toMatchObject({ email: 'ada@acme.test', role: 'owner', active: true, tenantId: tenant.id });
    expect(admin).not.toHaveProperty('passwordHash');
    expect(tenant.adminId).toBe(admin.id);
    expect((await tenants.get({ name: 'Acme Corp' }))?.adminId).toBe(admin.id);
  });

  it('logs in, verifies and authorizes within the organization only', async () => {
    const { auth } = make();
    const a = await auth.registerOrganization({ name: 'Org A', email: 'a@a.test', password: PASSWORD });
    const b = await auth.registerOrganization({ name: 'Org B', email: 'b@b.test', password: PASSWORD });
    const login = await auth.login({ email: 'A@A.test', password: PASSWORD });
    expect(login).toMatchObject({ tokenType: 'Bearer', admin: { id: a.admin.id }, tenant: { id: a.tenant.id } });
    expect(login.expiresAt.getTime() - Date.now()).toBeGreaterThan(29 * 60_000);
    const ctx = await auth.verify(login.token);
    expect(ctx).toMatchObject({ adminId: a.admin.id, tenantId: a.tenant.id, role: 'owner' });
    expect((await auth.authorize(ctx, { name: 'org a' })).id).toBe(a.tenant.id);
    expect((await auth.authorize(ctx, a.tenant.id)).id).toBe(a.tenant.id);
    await expect(auth.authorize(ctx, { name: 'Org B' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(auth.authorize(ctx, b.tenant.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(auth.authorize(ctx, { name: 'Nowhere' })).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });

  it('stops a dropped organization’s tokens and logins', async () => {
    const { auth, tenants } = make();
    const a = await auth.registerOrganization({ name: 'Doomed', email: 'd@d.test', password: PASSWORD });
    const { token } = await auth.login({ email: 'd@d.test', password: PASSWORD });
    await tenants.drop(a.tenant.id);
    await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(auth.login({ email: 'd@d.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    expect(await client.db(tenants.master.databaseName).collection('organization_admins').countDocuments()).toBe(0);
  });

  it('manages admins: create, list, change email and password, deactivate, delete', async () => {
    const { auth } = make();
    const { tenant } = await auth.registerOrganization({ name: 'Team', email: 'owner@team.test', password: PASSWORD });
    const bob = await auth.createAdmin(tenant.id, { email: 'bob@team.test', password: 'bob password 123' });
    expect(bob.role).toBe('admin');
    expect((await auth.listAdmins(tenant.id)).map((x) => x.email)).toEqual(['owner@team.test', 'bob@team.test']);
    await expect(auth.createAdmin(tenant.id, { email: 'BOB@team.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'EMAIL_TAKEN',
    });

    const old = await auth.login({ email: 'bob@team.test', password: 'bob password 123' });
    await auth.changeEmail(bob.id, 'robert@team.test');
    await expect(auth.verify(old.token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(auth.login({ email: 'bob@team.test', password: 'bob password 123' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    const renamed = await auth.login({ email: 'robert@team.test', password: 'bob password 123' });
    await auth.createAdmin(tenant.id, { email: 'bob@team.test', password: PASSWORD }); // the old email is free

    await auth.deactivate(bob.id);
    await expect(auth.verify(renamed.token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(auth.login({ email: 'robert@team.test', password: 'bob password 123' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    await auth.deleteAdmin(bob.id);
    await expect(auth.deleteAdmin(bob.id)).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND' });
    await auth.createAdmin(tenant.id, { email: 'robert@team.test', password: PASSWORD });
  });
});

describe('revocation', () => {
  it('a password change revokes older tokens (cache TTL 0)', async () => {
    const { auth } = make();
    const { admin } = await auth.registerOrganization({ name: 'Rev', email: 'r@r.test', password: PASSWORD });
    const { token } = await auth.login({ email: 'r@r.test', password: PASSWORD });
    await auth.changePassword(admin.id, 'a different passphrase');
    await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(auth.login({ email: 'r@r.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    const fresh = await auth.login({ email: 'r@r.test', password: 'a different passphrase' });
    await expect(auth.verify(fresh.token)).resolves.toMatchObject({ adminId: admin.id });
    await auth.revokeAll(admin.id);
    await expect(auth.verify(fresh.token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
  });

  it('with a cache, a token revoked by another process verifies at most until the TTL passes', async () => {
    let now = Date.now();
    const clock = () => new Date(now);
    const keys = [{ kid: 'shared', alg: 'HS256' as const, secret: strongSecret() }];
    const first = make({ clock, tokens: { keys, revocationCacheMs: 5_000 } });
    const second = make({ masterDbName: first.masterDbName, clock, tokens: { keys, revocationCacheMs: 5_000 } });
    const { admin } = await first.auth.registerOrganization({ name: 'Cached', email: 'c@c.test', password: PASSWORD });
    const { token } = await first.auth.login({ email: 'c@c.test', password: PASSWORD });
    await first.auth.verify(token); // cached now
    await second.auth.revokeAll(admin.id);
    await expect(second.auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    now += 4_000;
    await expect(first.auth.verify(token)).resolves.toMatchObject({ adminId: admin.id }); // the documented worst case
    now += 1_001;
    await expect(first.auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
  });
});

describe('all or nothing', () => {
  it('20 parallel registrations with one email: exactly one succeeds, no orphan tenants', async () => {
    const { auth, tenants } = make();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        auth.registerOrganization({ name: `Racer ${i}`, email: 'same@race.test', password: PASSWORD }),
      ),
    );
    const codes = results.map((r) =>
      r.status === 'fulfilled' ? 'ok' : isTenancyError(r.reason) ? r.reason.code : 'raw',
    );
    expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
    expect(codes.filter((c) => c === 'EMAIL_TAKEN')).toHaveLength(19);
    expect((await tenants.list()).tenants).toHaveLength(1);
    await assertInvariants(client, tenants, { tenants: 1 });
    const admins = client.db(tenants.master.databaseName).collection('organization_admins');
    expect(await admins.countDocuments()).toBe(1);
  });

  it('a weak password or a taken email leaves no organization behind', async () => {
    const { auth, tenants } = make();
    await auth.registerOrganization({ name: 'First', email: 'taken@x.test', password: PASSWORD });
    await expect(
      auth.registerOrganization({ name: 'Second', email: 'taken@x.test', password: PASSWORD }),
    ).rejects.toMatchObject({ code: 'EMAIL_TAKEN' });
    await expect(
      auth.registerOrganization({ name: 'Third', email: 'new@x.test', password: 'short' }),
    ).rejects.toMatchObject({ code: 'WEAK_PASSWORD' });
    expect((await tenants.list()).tenants.map((t) => t.name)).toEqual(['First']);
    await assertInvariants(client, tenants, { tenants: 1 });
  });
});

describe('crash safety of registration', () => {
  it.each(['provisioned', 'prepared'])(
    'a process dying after %s leaves no organization, admin or email behind',
    async (stop) => {
      const death = dieAt(stop, 'create');
      const dying = make({ manager: { leaseMs: 5_000, hooks: { afterStep: death.afterStep } } });
      void dying.auth.registerOrganization({ name: 'Half Made', email: 'half@x.test', password: PASSWORD });
      await death.reached;
      const later = new Date(Date.now() + 10_000);
      const after = make({ masterDbName: dying.masterDbName, manager: { leaseMs: 5_000, clock: () => later } });
      await after.tenants.init();
      const master = client.db(dying.masterDbName);
      expect(await master.collection('organization_admins').countDocuments()).toBe(0);
      expect(await master.collection('organization_admin_emails').countDocuments()).toBe(0);
      await assertInvariants(client, after.tenants, { tenants: 0 });
      const again = await after.auth.registerOrganization({
        name: 'Half Made',
        email: 'half@x.test',
        password: PASSWORD,
      });
      expect(again.tenant.adminId).toBe(again.admin.id);
    },
  );
});

describe('suspended organizations', () => {
  it('cannot sign in, and their tokens stop verifying until resumed', async () => {
    const { auth, tenants } = make();
    const { tenant } = await auth.registerOrganization({ name: 'Paused', email: 'p@p.test', password: PASSWORD });
    const { token } = await auth.login({ email: 'p@p.test', password: PASSWORD });
    await tenants.suspend(tenant.id);
    await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(auth.login({ email: 'p@p.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    await tenants.resume(tenant.id);
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: tenant.id });
  });
});

describe('admins racing a drop', () => {
  it('an admin created while its organization is being dropped is undone, and its email stays free', async () => {
    const real = bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' });
    let hold: ReturnType<typeof gate> | undefined;
    const gated = {
      hash: async (p: string) => {
        await hold?.closed;
        return real.hash(p);
      },
      verify: (p: string, h: string) => real.verify(p, h),
    };
    const { auth, tenants, masterDbName } = make({ hasher: gated });
    const { tenant } = await auth.registerOrganization({
      name: 'Racing Drop',
      email: 'owner@race.test',
      password: PASSWORD,
    });
    await auth.init();
    hold = gate();
    const creating = auth.createAdmin(tenant.id, { email: 'late@race.test', password: PASSWORD });
    await new Promise((done) => setTimeout(done, 100)); // createAdmin is hashing now
    expect(await tenants.drop(tenant.id)).toBe(true);
    hold.open();
    await expect(creating).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    const master = client.db(masterDbName);
    expect(await master.collection('organization_admins').countDocuments()).toBe(0);
    expect(await master.collection('organization_admin_emails').countDocuments()).toBe(0);
  });
});

describe('getAdmin', () => {
  it('returns the admin without secrets, or null', async () => {
    const { auth } = make();
    const { admin } = await auth.registerOrganization({ name: 'Lookup', email: 'look@x.test', password: PASSWORD });
    expect(await auth.getAdmin(admin.id)).toEqual(admin);
    expect(await auth.getAdmin('0123456789abcdef01234567')).toBeNull();
    expect(await auth.getAdmin('not an id')).toBeNull();
  });
});

describe('deleteOrganization', () => {
  it('drops the organization and stops its tokens at once in this process, even with a cache', async () => {
    const { auth, tenants } = make({
      tokens: { keys: [{ kid: 'k', alg: 'HS256', secret: strongSecret() }], revocationCacheMs: 60_000 },
    });
    const { tenant } = await auth.registerOrganization({ name: 'Gone Soon', email: 'g@g.test', password: PASSWORD });
    const { token } = await auth.login({ email: 'g@g.test', password: PASSWORD });
    await auth.verify(token); // cached
    expect(await auth.deleteOrganization(tenant.id)).toBe(true);
    await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    expect(await tenants.get(tenant.id)).toBeNull();
    expect(await auth.deleteOrganization(tenant.id)).toBe(false);
  });
});
