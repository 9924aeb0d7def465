import { describe, expect, it } from 'vitest';
import { collectionPerTenant, isTenancyError, TenancyError, TenantManager } from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const newManager = managerFactory(client, dbName);

async function collectionNames(dbNameValue: string): Promise<string[]> {
  const all = await client.db(dbNameValue).listCollections({}, { nameOnly: true }).toArray();
  return all.map((c) => c.name).sort();
}

describe('TenantManager lifecycle', () => {
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
    expect(acme.id).toMatch(/^[0-9a-f]{24}$/);
    expect(acme.createdAt).toBeInstanceOf(Date);
    expect(Object.isFrozen(acme)).toBe(true);
    expect(await collectionNames(tenants.master.databaseName)).toContain('org_acme_corp');
    const record = await tenants.master.collection('organizations').findOne({ name: 'Acme Corp' });
    expect(record).toMatchObject({ storage: { collection: 'org_acme_corp' }, adminId: null, status: 'active' });
  });

  it('gets by id and by any spelling of the name, and null when absent', async () => {
    const tenants = newManager();
    const acme = await tenants.create({ name: 'Acme Corp' });
    expect((await tenants.get(acme.id))?.id).toBe(acme.id);
    expect((await tenants.get({ name: 'ACME-corp' }))?.id).toBe(acme.id);
    expect(await tenants.get({ name: 'Nobody' })).toBeNull();
    expect(await tenants.get('0123456789abcdef01234567')).toBeNull();
  });

  it('lists with a stable cursor', async () => {
    const tenants = newManager();
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

  it('drops storage and record; a second drop is harmless', async () => {
    const tenants = newManager();
    const acme = await tenants.create({ name: 'Acme Corp' });
    await tenants.scope(acme).collection('orders').insertOne({ total: 1 });
    expect(await tenants.drop(acme.id)).toBe(true);
    expect(await tenants.get(acme.id)).toBeNull();
    expect(await tenants.drop(acme.id)).toBe(false);
    const left = await client
      .db(tenants.master.databaseName)
      .collection('org_acme_corp__orders')
      .countDocuments({ total: { $exists: true } });
    expect(left).toBe(0);
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

describe('suspend and resume', () => {
  it('a suspended tenant keeps its data and name but cannot be scoped until resumed', async () => {
    const tenants = newManager();
    const t = await tenants.create({ name: 'Sleepy' });
    await tenants.scope(t).collection().insertOne({ kept: true });
    const suspended = await tenants.suspend(t.id);
    expect(suspended.status).toBe('suspended');
    expect(() => tenants.scope(suspended)).toThrow(expect.objectContaining({ code: 'TENANT_UNAVAILABLE' }));
    await expect(tenants.create({ name: 'SLEEPY' })).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
    await expect(tenants.rename(t.id, 'Other')).rejects.toMatchObject({ code: 'TENANT_UNAVAILABLE' });
    expect((await tenants.suspend(t.id)).status).toBe('suspended'); // harmless twice
    const resumed = await tenants.resume(t.id);
    expect(await tenants.scope(resumed).collection().countDocuments()).toBe(1);
    await expect(tenants.resume({ name: 'Nobody Here' })).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });

  it('a suspended tenant can be dropped', async () => {
    const tenants = newManager();
    const t = await tenants.create({ name: 'Frozen' });
    await tenants.suspend(t.id);
    expect(await tenants.drop(t.id)).toBe(true);
    expect(await tenants.get(t.id)).toBeNull();
  });
});
