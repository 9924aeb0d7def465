import type { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { collectionPerTenant, type Tenant, type TenantManager, TOMBSTONE_INDEX } from '../../src/index.js';
import { managerFactory, serverKind, useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const newManager = managerFactory(client, dbName);
/** FerretDB v1 does not let a unique index reject documents that lack the field (docs/compatibility.md). */
const enforcesTombstones = () => serverKind() !== 'ferretdb';

async function seed(tenants: TenantManager, tenant: Tenant, count: number) {
  const scope = tenants.scope(tenant);
  await scope.collection().insertMany(Array.from({ length: count }, (_, i) => ({ i })));
  await scope.collection().createIndex({ i: 1 }, { name: 'by_i' });
  await scope.collection('orders').insertMany(Array.from({ length: count }, (_, i) => ({ order: i })));
  await scope.collection('orders').createIndex({ order: -1 }, { name: 'by_order', unique: true });
}

async function census(tenants: TenantManager, tenant: Tenant) {
  const scope = tenants.scope(tenant);
  return {
    docs: await scope.collection().countDocuments(),
    orders: await scope.collection('orders').countDocuments(),
    indexes: (await scope.collection().indexes()).map((i) => i.name).sort(),
    orderIndexes: (await scope.collection('orders').indexes()).map((i) => i.name).sort(),
  };
}

async function names(db: string) {
  return (await client.db(db).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
}

describe.each([
  { mode: 'stable physical names (default)', renameStorage: false },
  { mode: 'storage follows the name (seed)', renameStorage: true },
])('rename with $mode', ({ renameStorage }) => {
  const make = () => newManager({ strategy: collectionPerTenant({ renameStorage }) });

  it('keeps every document and index, frees the old name and finds the new one', async () => {
    const tenants = make();
    const acme = await tenants.create({ name: 'Acme Corp' });
    await seed(tenants, acme, 250);
    const before = await census(tenants, acme);

    const renamed = await tenants.rename(acme.id, 'Globex Inc');
    expect(renamed).toMatchObject({ id: acme.id, name: 'Globex Inc', status: 'active' });
    expect(renamed.storage.collection).toBe(renameStorage ? 'org_globex_inc' : 'org_acme_corp');
    expect(renamed.key).toBe(renameStorage ? 'globex_inc' : 'acme_corp');
    expect(renamed.updatedAt.getTime()).toBeGreaterThanOrEqual(acme.updatedAt.getTime());
    expect(await census(tenants, renamed)).toEqual(before);
    expect((await tenants.get({ name: 'globex inc' }))?.id).toBe(acme.id);
    expect(await tenants.get({ name: 'Acme Corp' })).toBeNull();

    // The old name is free at once; its key is still held, so the newcomer gets a distinct one.
    const newcomer = await tenants.create({ name: 'Acme Corp' });
    expect(newcomer.key).toBe('acme_corp_2');
    expect(newcomer.storage.collection).toBe('org_acme_corp_2');
  });

  it('a handle taken before the rename reaches the data or fails clearly', async () => {
    const tenants = make();
    const acme = await tenants.create({ name: 'Initech' });
    await seed(tenants, acme, 5);
    const stale = tenants.scope(acme).collection('orders');
    const renamed = await tenants.rename(acme.id, 'Initrode');
    const fresh = tenants.scope(renamed).collection('orders');

    const write = stale.insertOne({ order: 99 });
    if (!renameStorage) {
      await write;
      expect(await fresh.countDocuments()).toBe(6);
      return;
    }
    if (enforcesTombstones()) {
      const error = (await write.catch((e: unknown) => e)) as MongoServerError;
      expect(error.code).toBe(11000);
      expect(error.message).toContain(TOMBSTONE_INDEX);
      expect(await fresh.countDocuments()).toBe(5);
      return;
    }
    await write;
    // Not rejected by this server: the document waits in the tombstone and purging moves it to the tenant.
    expect(await tenants.purgeTombstones({ olderThanMs: 0 })).toMatchObject({ moved: 1, discarded: 0, purged: 1 });
    expect(await fresh.countDocuments()).toBe(6);
    expect(await fresh.findOne({ order: 99 })).not.toBeNull();
  });

  it('a rename to a taken name fails with TENANT_EXISTS and changes nothing', async () => {
    const tenants = make();
    const a = await tenants.create({ name: 'Alpha' });
    await tenants.create({ name: 'Beta' });
    await expect(tenants.rename(a.id, 'BETA')).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
    expect(await tenants.get(a.id)).toMatchObject({ name: 'Alpha', status: 'active', key: 'alpha' });
    await expect(tenants.rename(a.id, '')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(tenants.rename('0123456789abcdef01234567', 'Gamma')).rejects.toMatchObject({
      code: 'TENANT_NOT_FOUND',
    });
    expect(await names(tenants.master.databaseName)).toEqual(
      expect.arrayContaining(['org_alpha', 'org_beta', 'organizations']),
    );
  });

  it('a case-only rename keeps the storage and updates the display name', async () => {
    const tenants = make();
    const t = await tenants.create({ name: 'acme widgets' });
    const renamed = await tenants.rename(t.id, 'Acme Widgets');
    expect(renamed).toMatchObject({ name: 'Acme Widgets', key: 'acme_widgets', storage: t.storage });
  });
});

describe('drop and stale handles', () => {
  it('a write through a handle taken before a drop fails clearly, or is counted when purged', async () => {
    const tenants = newManager();
    const acme = await tenants.create({ name: 'Umbrella' });
    const stale = tenants.scope(acme).collection();
    await stale.insertOne({ before: true });
    await tenants.drop(acme.id);
    expect(() => tenants.scope(acme)).not.toThrow(); // the record passed in is a snapshot
    const write = stale.insertOne({ after: true });
    if (enforcesTombstones()) {
      expect(((await write.catch((e: unknown) => e)) as MongoServerError).code).toBe(11000);
      expect(await tenants.purgeTombstones({ olderThanMs: 0 })).toMatchObject({ discarded: 0, purged: 1 });
    } else {
      await write;
      expect(await tenants.purgeTombstones({ olderThanMs: 0 })).toMatchObject({ discarded: 1, purged: 1 });
    }
    expect(await names(tenants.master.databaseName)).not.toContain('org_umbrella');
    // A physical name is never given out again, even once purged: a command landing late can reach no one else.
    expect((await tenants.create({ name: 'Umbrella' })).key).toBe('umbrella_2');
  });

  it('keeps a dropped key out of use until its tombstone is purged', async () => {
    const tenants = newManager();
    const first = await tenants.create({ name: 'Hooli' });
    await tenants.drop(first.id);
    const second = await tenants.create({ name: 'Hooli' });
    expect(second.key).toBe('hooli_2');
    expect(await tenants.purgeTombstones()).toMatchObject({ purged: 0 }); // default age: 7 days
  });
});
