/** updateOrganization: a new name, email and password together, all or nothing, on storage that moves with the name. */
import { MongoClient } from 'mongodb';
import { describe, expect, inject, it } from 'vitest';
import { type AuthService, bcryptHasher, collectionPerTenant, type TenantManager } from '../../src/index.js';
import { authFactory, PASSWORD } from '../support/auth.js';
import { useTestClient } from '../support/context.js';
import { gate } from '../support/gate.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);
const movingStorage = { strategy: collectionPerTenant({ renameStorage: true }) };
const NEW_PASSWORD = 'a brand new passphrase';

/** An organization with three documents in its storage, its owner, and the owner's token. */
async function seeded(auth: AuthService, tenants: TenantManager, name = 'Acme Corp', email = 'ada@acme.test') {
  const { tenant, admin } = await auth.registerOrganization({ name, email, password: PASSWORD });
  await tenants
    .scope(tenant)
    .collection()
    .insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
  const { token } = await auth.login({ email, password: PASSWORD });
  return { tenant, admin, token, ctx: await auth.verify(token) };
}

/** Everything a refused update must leave as it was. */
async function observable(auth: AuthService, tenants: TenantManager, tenantId: string, masterDbName: string) {
  const tenant = await tenants.get(tenantId);
  if (!tenant) throw new Error('the organization is gone');
  const db = client.db(tenant.storage.database);
  const admin = await auth.getAdmin(tenant.adminId as string);
  const claims = await client.db(masterDbName).collection('organization_admin_emails').find().toArray();
  return {
    name: tenant.name,
    storage: tenant.storage,
    collections: (await db.listCollections({ name: tenant.storage.collection }).toArray()).map((c) => c.name),
    documents: await tenants
      .scope(tenant)
      .collection()
      .find({}, { projection: { _id: 0 } })
      .sort({ n: 1 })
      .toArray(),
    email: admin?.email,
    claims: claims.map((c) => c._id).sort(),
  };
}

async function expectOldCredentials(auth: AuthService, email = 'ada@acme.test') {
  await expect(auth.login({ email, password: PASSWORD })).resolves.toMatchObject({ admin: { email } });
  await expect(auth.login({ email, password: NEW_PASSWORD })).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
}

describe('updateOrganization refuses before anything changes', () => {
  it('a taken name with a new email: TENANT_EXISTS, nothing changed', async () => {
    const { auth, tenants, masterDbName } = make({ manager: movingStorage });
    const { tenant, ctx } = await seeded(auth, tenants);
    await auth.registerOrganization({ name: 'Globex', email: 'hank@globex.test', password: PASSWORD });
    const before = await observable(auth, tenants, tenant.id, masterDbName);
    await expect(
      auth.updateOrganization(ctx, { name: 'GLOBEX', email: 'ada@new.test', password: NEW_PASSWORD }),
    ).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
    expect(await observable(auth, tenants, tenant.id, masterDbName)).toEqual(before);
    await expectOldCredentials(auth);
  });

  it('a name taken while the password hashes: the rename refuses, the reserved email is freed', async () => {
    const real = bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' });
    let hold: ReturnType<typeof gate> | undefined;
    const hashing = gate();
    const hasher = {
      hash: async (p: string) => {
        if (hold) hashing.open();
        await hold?.closed;
        return real.hash(p);
      },
      verify: (p: string, h: string) => real.verify(p, h),
    };
    const { auth, tenants, masterDbName } = make({ manager: movingStorage, hasher });
    const { tenant, ctx } = await seeded(auth, tenants);
    const before = await observable(auth, tenants, tenant.id, masterDbName);
    hold = gate();
    const updating = auth.updateOrganization(ctx, { name: 'Late Name', email: 'ada@new.test', password: NEW_PASSWORD });
    await hashing.closed; // the name check passed; the password is hashing
    await tenants.create({ name: 'Late Name' });
    hold.open();
    await expect(updating).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
    expect(await observable(auth, tenants, tenant.id, masterDbName)).toEqual(before);
    await expectOldCredentials(auth);
  });

  it('a taken email with a new name: EMAIL_TAKEN, nothing changed', async () => {
    const { auth, tenants, masterDbName } = make({ manager: movingStorage });
    const { tenant, ctx } = await seeded(auth, tenants);
    await auth.registerOrganization({ name: 'Globex', email: 'hank@globex.test', password: PASSWORD });
    const before = await observable(auth, tenants, tenant.id, masterDbName);
    await expect(
      auth.updateOrganization(ctx, { name: 'Acme Industries', email: 'HANK@globex.test', password: NEW_PASSWORD }),
    ).rejects.toMatchObject({ code: 'EMAIL_TAKEN' });
    expect(await observable(auth, tenants, tenant.id, masterDbName)).toEqual(before);
    expect(await tenants.get({ name: 'Acme Industries' })).toBeNull();
    await expectOldCredentials(auth);
  });

  it.each([
    ['a weak password', { password: 'short' }, 'WEAK_PASSWORD'],
    ['a password past 72 bytes', { password: 'é'.repeat(40) }, 'WEAK_PASSWORD'],
    ['an invalid email', { email: 'not an email', password: NEW_PASSWORD }, 'INVALID_INPUT'],
    ['an unknown field', { password: NEW_PASSWORD, role: 'owner' }, 'INVALID_INPUT'],
  ])('%s with a new name and email: refused, nothing changed', async (_label, change, code) => {
    const { auth, tenants, masterDbName } = make({ manager: movingStorage });
    const { tenant, ctx } = await seeded(auth, tenants);
    const before = await observable(auth, tenants, tenant.id, masterDbName);
    await expect(
      auth.updateOrganization(ctx, { name: 'Acme Industries', email: 'ada@new.test', ...change }),
    ).rejects.toMatchObject({ code });
    expect(await observable(auth, tenants, tenant.id, masterDbName)).toEqual(before);
    await expectOldCredentials(auth);
  });

  it('an invalid name: INVALID_NAME, nothing changed', async () => {
    const { auth, tenants, masterDbName } = make({ manager: movingStorage });
    const { tenant, ctx } = await seeded(auth, tenants);
    const before = await observable(auth, tenants, tenant.id, masterDbName);
    await expect(
      auth.updateOrganization(ctx, { name: '  ', email: 'ada@new.test', password: NEW_PASSWORD }),
    ).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect(await observable(auth, tenants, tenant.id, masterDbName)).toEqual(before);
  });

  it("another organization's context: FORBIDDEN; an unknown admin: ADMIN_NOT_FOUND", async () => {
    const { auth, tenants } = make();
    const { admin } = await seeded(auth, tenants);
    const other = await auth.registerOrganization({ name: 'Globex', email: 'hank@globex.test', password: PASSWORD });
    await expect(
      auth.updateOrganization({ adminId: admin.id, tenantId: other.tenant.id }, { name: 'Mine Now' }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(auth.updateOrganization('0123456789abcdef01234567', { name: 'X' })).rejects.toMatchObject({
      code: 'ADMIN_NOT_FOUND',
    });
  });
});

describe('updateOrganization changes everything together', () => {
  it('renames (storage too), changes email and password in one update, revoking older tokens once', async () => {
    const monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
    try {
      const { auth, tenants, masterDbName } = authFactory(monitored, dbName)({ manager: movingStorage });
      const { tenant, token, ctx } = await seeded(auth, tenants);
      const adminWrites: string[] = [];
      monitored.on('commandStarted', (event) => {
        if (event.command[event.commandName] === 'organization_admins' && event.commandName !== 'find') {
          adminWrites.push(event.commandName);
        }
      });
      const result = await auth.updateOrganization(ctx, {
        name: 'Acme Industries',
        email: 'Ada@Industries.test',
        password: NEW_PASSWORD,
      });
      monitored.removeAllListeners('commandStarted');
      expect(adminWrites).toEqual(['findAndModify']);
      expect(result.tenant).toMatchObject({ id: tenant.id, name: 'Acme Industries' });
      expect(result.tenant.storage.collection).not.toBe(tenant.storage.collection);
      expect(result.admin.email).toBe('ada@industries.test');
      const after = await observable(auth, tenants, tenant.id, masterDbName);
      expect(after).toMatchObject({ name: 'Acme Industries', email: 'ada@industries.test' });
      expect(after.documents).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(after.claims).toEqual(['ada@industries.test']);
      await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
      await expect(auth.login({ email: 'ada@acme.test', password: PASSWORD })).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      });
      await expect(auth.login({ email: 'ada@industries.test', password: NEW_PASSWORD })).resolves.toBeDefined();
    } finally {
      await monitored.close();
    }
  });

  it('a rename alone revokes nothing; the same name and email change nothing', async () => {
    const { auth, tenants } = make({ manager: movingStorage });
    const { tenant, token, ctx, admin } = await seeded(auth, tenants);
    const same = await auth.updateOrganization(ctx, { name: 'Acme Corp', email: 'ada@acme.test' });
    expect(same.tenant).toEqual(tenant);
    expect(same.admin).toEqual(admin);
    const renamed = await auth.updateOrganization(admin.id, { name: 'Acme Labs' });
    expect(renamed.tenant.name).toBe('Acme Labs');
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: tenant.id });
  });

  it('a failure after the rename renames back and frees the reserved email', async () => {
    let sabotage: (() => Promise<unknown>) | undefined;
    const afterStep = async (event: { op: string; step: string }) => {
      if (event.op !== 'rename' || event.step !== 'renamed' || !sabotage) return;
      const run = sabotage;
      sabotage = undefined;
      await run();
    };
    const { auth, tenants, masterDbName } = make({ manager: { ...movingStorage, hooks: { afterStep } } });
    const { tenant, admin, ctx } = await seeded(auth, tenants);
    // The admin is deleted while the organization is being renamed: the commit finds no admin.
    const admins = client.db(masterDbName).collection('organization_admins');
    sabotage = () => admins.deleteOne({ email: admin.email });
    await expect(
      auth.updateOrganization(ctx, { name: 'Acme Industries', email: 'ada@new.test', password: NEW_PASSWORD }),
    ).rejects.toMatchObject({ code: 'ADMIN_NOT_FOUND' });
    const back = await tenants.get(tenant.id);
    expect(back?.name).toBe('Acme Corp');
    expect(back?.status).toBe('active');
    expect(await tenants.get({ name: 'Acme Industries' })).toBeNull();
    // The old physical name holds tombstones, so the storage came back under a new one, every document kept.
    expect(
      await tenants
        .scope(back as never)
        .collection()
        .countDocuments(),
    ).toBe(3);
    const claims = client.db(masterDbName).collection('organization_admin_emails');
    expect(await claims.countDocuments({ _id: 'ada@new.test' as never })).toBe(0);
  });
});
