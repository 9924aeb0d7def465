/**
 * The life of a tenant: create, get, list, drop, suspend and resume under each layout; physical names, options
 * and close under a collection per tenant.
 */
import { describe, expect, it } from 'vitest';
import { collectionPerTenant, isTenancyError, TenancyError, type Tenant, TenantManager } from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { assertInvariants } from '../support/invariants.js';
import { layoutCases } from '../support/layouts.js';

const testClient = useTestClient();
const { client, dbName } = testClient;
const newManager = managerFactory(client, dbName);

async function databaseNames(): Promise<string[]> {
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  return databases.map((d) => d.name);
}

/** Whether the tenant's storage exists: its database (a database per tenant), or its default collection. */
async function storageExists(tenant: Tenant): Promise<boolean> {
  const { database, collection } = tenant.storage;
  if (tenant.storage.strategy === 'database' && !(await databaseNames()).includes(database)) return false;
  return (await collectionNames(database)).includes(collection);
}

async function collectionNames(dbNameValue: string): Promise<string[]> {
  const all = await client.db(dbNameValue).listCollections({}, { nameOnly: true }).toArray();
  return all.map((c) => c.name).sort();
}

describe.each(layoutCases(testClient))('TenantManager lifecycle, the $kind layout', ({ kind, strategy }) => {
  it('creates a tenant with a registry record and its storage', async () => {
    const tenants = newManager({ strategy: strategy() });
    const acme = await tenants.create({ name: '  Acme Corp ', metadata: { plan: 'pro' } });
    expect(acme).toMatchObject({
      name: 'Acme Corp',
      key: 'acme_corp',
      status: 'active',
      adminId: null,
      metadata: { plan: 'pro' },
      storage: { strategy: kind },
    });
    expect(acme.id).toMatch(/^[0-9a-f]{24}$/);
    expect(acme.createdAt).toBeInstanceOf(Date);
    expect(Object.isFrozen(acme)).toBe(true);
    const master = tenants.master.databaseName;
    const expected = {
      collection: { database: master, collection: 'org_acme_corp' },
      database: { collection: 'default' },
      shared: { database: master, collection: 'shared', field: 'tenantId', value: acme.id },
    }[kind];
    expect(acme.storage).toMatchObject(expected);
    if (kind === 'database') expect(acme.storage.database).toMatch(/acme_corp$/);
    expect(await storageExists(acme)).toBe(true);
    const record = await tenants.master.collection('organizations').findOne({ name: 'Acme Corp' });
    expect(record).toMatchObject({ storage: acme.storage, adminId: null, status: 'active' });
    await assertInvariants(client, tenants, { tenants: 1 });
  });

  it('gets by id and by any spelling of the name, and null when absent', async () => {
    const tenants = newManager({ strategy: strategy() });
    const acme = await tenants.create({ name: 'Acme Corp' });
    expect((await tenants.get(acme.id))?.id).toBe(acme.id);
    expect((await tenants.get({ name: 'ACME-corp' }))?.id).toBe(acme.id);
    expect(await tenants.get({ name: 'Nobody' })).toBeNull();
    expect(await tenants.get('0123456789abcdef01234567')).toBeNull();
  });

  it('lists with a stable cursor', async () => {
    const tenants = newManager({ strategy: strategy() });
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await tenants.create({ name: `Org ${i}` }));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await tenants.list({ limit: 3, ...(after ? { after } : {}) });
      seen.push(...page.tenants.map((t) => t.id));
      if (!page.next) break;
      after = page.next;
      // A tenant created between pages appears once, at the end.
    }
    expect(seen).toEqual(created.map((t) => t.id));
    await expect(tenants.list({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(tenants.list({ after: 'nope' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('drops storage and record, and nothing of another tenant; a second drop is harmless', async () => {
    const tenants = newManager({ strategy: strategy() });
    const acme = await tenants.create({ name: 'Acme Corp' });
    const globex = await tenants.create({ name: 'Globex' });
    const orders = tenants.scope(acme).collection('orders');
    await orders.insertMany([{ total: 1 }, { total: 2 }]);
    await tenants.scope(acme).collection().insertOne({ total: 3 });
    await tenants.scope(globex).collection('orders').insertOne({ total: 4 });
    expect(await tenants.drop(acme.id)).toBe(true);
    expect(await tenants.get(acme.id)).toBeNull();
    expect(await tenants.drop(acme.id)).toBe(false);
    // A handle taken before the drop finds none of the documents (a tombstone's marker is none of them).
    expect(await orders.countDocuments({ total: { $exists: true } })).toBe(0);
    expect(
      await tenants
        .scope(acme)
        .collection()
        .countDocuments({ total: { $exists: true } }),
    ).toBe(0);
    if (kind === 'database') expect(await databaseNames()).not.toContain(acme.storage.database);
    expect(await tenants.scope(globex).collection('orders').countDocuments()).toBe(1);
    await assertInvariants(client, tenants, { tenants: 1 });
  });
});

describe.each(layoutCases(testClient))('suspend and resume, the $kind layout', ({ strategy }) => {
  it('a suspended tenant keeps its data and name but cannot be scoped until resumed', async () => {
    const tenants = newManager({ strategy: strategy() });
    const t = await tenants.create({ name: 'Sleepy' });
    await tenants.scope(t).collection().insertOne({ kept: true });
    const suspended = await tenants.suspend(t.id);
    expect(suspended.status).toBe('suspended');
    expect(() => tenants.scope(suspended)).toThrow(expect.objectContaining({ code: 'TENANT_UNAVAILABLE' }));
    await expect(tenants.create({ name: 'SLEEPY' })).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
    await expect(tenants.rename(t.id, 'Other')).rejects.toMatchObject({ code: 'TENANT_UNAVAILABLE' });
    expect((await tenants.suspend(t.id)).status).toBe('suspended'); // harmless twice
    await assertInvariants(client, tenants, { tenants: 1 });
    const resumed = await tenants.resume(t.id);
    expect(await tenants.scope(resumed).collection().countDocuments()).toBe(1);
    await expect(tenants.resume({ name: 'Nobody Here' })).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });

  it('a suspended tenant can be dropped', async () => {
    const tenants = newManager({ strategy: strategy() });
    const t = await tenants.create({ name: 'Frozen' });
    await tenants.scope(t).collection().insertOne({ gone: true });
    await tenants.suspend(t.id);
    expect(await tenants.drop(t.id)).toBe(true);
    expect(await tenants.get(t.id)).toBeNull();
    expect(
      await tenants
        .scope(t)
        .collection()
        .countDocuments({ gone: { $exists: true } }),
    ).toBe(0);
    if (t.storage.strategy === 'database') expect(await databaseNames()).not.toContain(t.storage.database);
    await assertInvariants(client, tenants, { tenants: 0 });
  });
});

describe('TenantManager lifecycle, a collection per tenant', () => {
  it('creates a tenant with the seed’s collection name and a registry record', async () => {
    const tenants = newManager();
    const acme = await tenants.create({ name: '  Acme Corp ', metadata: { plan: 'pro' } });
    expect(acme).toMatchObject({
      name: 'Acme Corp',
      key: 'acme_corp',
      status: 'active',
      adminId: null,
      metadata: { plan: 'pro' },
      storage: { strategy: 'collection', database: tenants.master.databaseName, collection: 'org_acme_corp' },
    });
    expect(await collectionNames(tenants.master.databaseName)).toContain('org_acme_corp');
    const record = await tenants.master.collection('organizations').findOne({ name: 'Acme Corp' });
    expect(record).toMatchObject({ storage: { collection: 'org_acme_corp' }, adminId: null, status: 'active' });
  });

  it('a drop leaves a tombstone at each physical name, with none of the documents', async () => {
    const tenants = newManager();
    const acme = await tenants.create({ name: 'Acme Corp' });
    await tenants.scope(acme).collection('orders').insertOne({ total: 1 });
    expect(await tenants.drop(acme.id)).toBe(true);
    const left = await client
      .db(tenants.master.databaseName)
      .collection('org_acme_corp__orders')
      .countDocuments({ total: { $exists: true } });
    expect(left).toBe(0);
    expect(await collectionNames(tenants.master.databaseName)).toEqual(
      expect.arrayContaining(['org_acme_corp', 'org_acme_corp__orders']),
    );
  });

  it('rejects bad options at construction, naming the option', () => {
    const attempt = (options: unknown) => {
      try {
        new TenantManager(options as never);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(attempt({})).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'client' } });
    expect(attempt({ client, leaseMs: 5 })).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'leaseMs' } });
    expect(attempt({ client, masterDbName: 'a.b' })).toMatchObject({ details: { field: 'masterDbName' } });
    expect(attempt({ client, bogus: 1 })).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(() => collectionPerTenant({ database: 'x/y' })).toThrow(TenancyError);
  });

  it('fails calls after close with CLOSED, never opening or closing the client', async () => {
    const tenants = newManager();
    await tenants.init();
    await tenants.close();
    const error = await tenants.create({ name: 'Late' }).catch((e: unknown) => e);
    expect(isTenancyError(error, 'CLOSED')).toBe(true);
    expect(await client.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
  });
});
