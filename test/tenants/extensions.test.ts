/**
 * The extension point: what an extension declares it keeps per tenant is
 * removed with the tenant by every process (even one that never registered
 * the extension), its step runs inside a create's journal, and declarations
 * that would share a collection are refused.
 */
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { TenancyError, TenantManager } from '../../src/index.js';
import { authFactory, PASSWORD, strongSecret } from '../support/auth.js';
import { codeOf } from '../support/codes.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const makeAuth = authFactory(client, dbName);
const BILLING = { name: 'billing', collections: [{ name: 'billing_accounts', perTenant: true }] };

describe('TenantManager.extend', () => {
  it('runs the step inside the create, saves what it returns, and removes its documents with the tenant', async () => {
    const tenants = new TenantManager({ client, masterDbName: dbName('master') });
    const link = tenants.extend(BILLING);
    await link.init();
    const accounts = link.db.collection('billing_accounts');
    const tenant = await link.create({ name: 'Billed Co' }, async (created, via) => {
      expect(created.status).toBe('creating');
      await via.run('open account', (o) => accounts.insertOne({ tenantId: new ObjectId(created.id) }, o));
      return { adminId: 'a'.repeat(24) };
    });
    expect(tenant).toMatchObject({ status: 'active', adminId: 'a'.repeat(24) });
    expect(await accounts.countDocuments({ tenantId: new ObjectId(tenant.id) })).toBe(1);
    expect(await tenants.drop(tenant.id)).toBe(true);
    expect(await accounts.countDocuments({})).toBe(0);
  });

  it('undoes the create, documents included, when the step throws', async () => {
    const tenants = new TenantManager({ client, masterDbName: dbName('master') });
    const link = tenants.extend(BILLING);
    await link.init();
    const accounts = link.db.collection('billing_accounts');
    const failing = link.create({ name: 'Half Co' }, async (created, via) => {
      await via.run('open account', (o) => accounts.insertOne({ tenantId: new ObjectId(created.id) }, o));
      throw new TenancyError('EMAIL_TAKEN');
    });
    expect(await codeOf(failing)).toBe('EMAIL_TAKEN');
    expect(await tenants.get({ name: 'Half Co' })).toBeNull();
    expect(await accounts.countDocuments({})).toBe(0);
    expect((await tenants.create({ name: 'Half Co' })).status).toBe('active');
  });

  it('a manager that never registered the AuthService still drops its admins and email claims', async () => {
    const { auth, masterDbName } = makeAuth({
      tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] },
    });
    const { tenant } = await auth.registerOrganization({ name: 'Owned Co', email: 'o@owned.test', password: PASSWORD });
    const operator = new TenantManager({ client, masterDbName }); // an operator's script: no AuthService here
    expect(await operator.drop(tenant.id)).toBe(true);
    const master = client.db(masterDbName);
    expect(await master.collection('organization_admins').countDocuments({})).toBe(0);
    expect(await master.collection('organization_admin_emails').countDocuments({})).toBe(0);
    expect((await operator.doctor()).findings).toEqual([]);
  });

  it('doctor reports per-tenant documents whose tenant is gone, and removes them with fix', async () => {
    const tenants = new TenantManager({ client, masterDbName: dbName('master') });
    const link = tenants.extend(BILLING);
    await link.init();
    const orphan = new ObjectId();
    await link.db.collection('billing_accounts').insertOne({ tenantId: orphan });
    const { findings } = await tenants.doctor({ fix: true });
    expect(findings).toEqual([
      { kind: 'orphan-owned', tenantId: orphan.toHexString(), subject: orphan.toHexString(), fixed: true },
    ]);
    expect(await link.db.collection('billing_accounts').countDocuments({})).toBe(0);
  });

  it('records a declaration once when many processes record it at the same time', async () => {
    const masterDbName = dbName('master');
    const links = Array.from({ length: 10 }, () => new TenantManager({ client, masterDbName }).extend(BILLING));
    await Promise.all(links.map((link) => link.init()));
    const recorded = await client.db(masterDbName).collection('tenancy_extensions').find().toArray();
    expect(recorded).toEqual([{ _id: 'billing', perTenant: ['billing_accounts'] }]);
  });

  it('refuses invalid declarations and collections another owner keeps; the same declaration twice is harmless', async () => {
    const tenants = new TenantManager({ client, masterDbName: dbName('master') });
    tenants.extend(BILLING);
    expect(() => tenants.extend(BILLING)).not.toThrow();
    for (const bad of [
      { name: 'billing', collections: [] }, // the same name, another declaration
      { name: 'other', collections: [{ name: 'billing_accounts', perTenant: true }] }, // another's collection
      { name: 'sneaky', collections: [{ name: 'organizations' }] }, // the registry
      { name: 'sneaky', collections: [{ name: 'tenancy_journal' }] },
      { name: 'Bad Name', collections: [] },
      { name: 'bad', collections: [{ name: 'a.b' }] },
      { name: 'bad', collections: [{ name: 'x', perTenant: 'yes' }] },
      { name: 'bad', collections: [], extra: true },
      null,
    ]) {
      expect(await codeOf(() => tenants.extend(bad as never))).toBe('INVALID_OPTIONS');
    }
  });
});
