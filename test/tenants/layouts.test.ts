/**
 * The three layouts behind one interface: the same application code runs
 * unchanged under each, each keeps tenants apart, renames and drops do what
 * its documentation says, and one manager serves tenants of mixed layouts.
 */
import { describe, expect, it } from 'vitest';
import {
  collectionPerTenant,
  databasePerTenant,
  sharedCollections,
  type Tenant,
  type TenantManager,
} from '../../src/index.js';
import { codeOf } from '../support/codes.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { layoutCases } from '../support/layouts.js';

const testClient = useTestClient();
const { client, dbName } = testClient;
const newManager = managerFactory(client, dbName);

/** What every application does with its tenant's data: the same code under every layout. */
async function application(tenants: TenantManager, tenant: Tenant): Promise<unknown> {
  const orders = tenants.scope(tenant).collection<{ sku: string; total: number; createdAt: Date }>('orders');
  await orders.createIndex({ createdAt: -1 });
  await orders.insertOne({ sku: 'a', total: 10, createdAt: new Date(1) });
  await orders.insertMany([
    { sku: 'b', total: 20, createdAt: new Date(2) },
    { sku: 'c', total: 30, createdAt: new Date(3) },
  ]);
  await orders.updateOne({ sku: 'a' }, { $inc: { total: 5 } });
  await orders.deleteOne({ sku: 'c' });
  const totals = await orders.aggregate([{ $group: { _id: null, sum: { $sum: '$total' } } }]).toArray();
  const latest = await orders
    .find({}, { projection: { _id: 0, sku: 1 } })
    .sort({ createdAt: -1 })
    .toArray();
  return { sum: totals[0]?.sum, latest: latest.map((o) => o.sku), count: await orders.countDocuments() };
}

describe.each(layoutCases(testClient))('the $kind layout', ({ kind, strategy }) => {
  it('runs the same application code, and keeps each tenant to its own documents', async () => {
    const tenants = newManager({ strategy: strategy() });
    const [acme, globex] = await Promise.all([tenants.create({ name: 'Acme' }), tenants.create({ name: 'Globex' })]);
    expect(acme.storage.strategy).toBe(kind);
    const expected = { sum: 35, latest: ['b', 'a'], count: 2 };
    expect(await application(tenants, acme)).toEqual(expected);
    expect(await application(tenants, globex)).toEqual(expected);
    await tenants.scope(acme).collection().insertOne({ note: 'default collection' });
    expect(await tenants.scope(globex).collection().countDocuments()).toBe(0);
    expect(await tenants.scope(acme).collection().countDocuments()).toBe(1);
  });

  it('renames in the registry only, the data staying where it is', async () => {
    const tenants = newManager({ strategy: strategy() });
    const acme = await tenants.create({ name: 'Acme' });
    await tenants.scope(acme).collection('orders').insertOne({ n: 1 });
    const renamed = await tenants.rename(acme.id, 'Acme Industries');
    expect(renamed.storage).toEqual(acme.storage);
    expect(await tenants.scope(renamed).collection('orders').countDocuments()).toBe(1);
  });

  it('drops the tenant’s storage and nothing of the others’; purge removes what a stale handle wrote after', async () => {
    const tenants = newManager({ strategy: strategy() });
    const [acme, globex] = await Promise.all([tenants.create({ name: 'Acme' }), tenants.create({ name: 'Globex' })]);
    const stale = tenants.scope(acme).collection('orders');
    await stale.insertMany([{ n: 1 }, { n: 2 }]);
    await tenants.scope(globex).collection('orders').insertOne({ n: 3 });
    expect(await tenants.drop(acme.id)).toBe(true);
    expect(await tenants.get(acme.id)).toBeNull();
    const mine = { n: { $exists: true } }; // a tombstone's marker is not a tenant document
    expect(await stale.countDocuments(mine)).toBe(0);
    expect(await tenants.scope(globex).collection('orders').countDocuments()).toBe(1);
    if (kind === 'database') {
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      expect(databases.map((d) => d.name)).not.toContain(acme.storage.database);
    }
    // A handle taken before the drop still writes: a tombstone refuses it on MongoDB (collection layout), the
    // other layouts accept it (a re-created database, a document of a tenant that is gone) and purge removes it.
    const late = await stale.insertOne({ n: 4 }).then(
      () => true,
      () => false,
    );
    const report = await tenants.purgeTombstones({ olderThanMs: 0 });
    expect(report).toMatchObject({ purged: 1, discarded: late ? 1 : 0 });
    expect(await stale.countDocuments(mine)).toBe(0);
    expect((await tenants.doctor()).findings).toEqual([]);
  });

  it('has a clean bill of health after creates, renames and drops', async () => {
    const tenants = newManager({ strategy: strategy() });
    const made = await Promise.all(['One', 'Two', 'Three'].map((name) => tenants.create({ name })));
    await tenants.rename(made[0]?.id as string, 'Uno');
    await tenants.drop(made[1]?.id as string);
    expect((await tenants.doctor()).findings).toEqual([]);
  });
});

describe('layout options', () => {
  it('places a database per tenant at <prefix><key>', async () => {
    const prefix = testClient.dbPrefix();
    const tenants = newManager({ strategy: databasePerTenant({ prefix }) });
    const acme = await tenants.create({ name: 'Acme Corp' });
    expect(acme.storage).toEqual({ strategy: 'database', database: `${prefix}acme_corp`, collection: 'default' });
  });

  it('shared collections carry the tenant field with the tenant’s id', async () => {
    const tenants = newManager({ strategy: sharedCollections({ field: 'orgId' }) });
    const acme = await tenants.create({ name: 'Acme Corp' });
    expect(acme.storage).toMatchObject({ strategy: 'shared', collection: 'shared', field: 'orgId', value: acme.id });
    await tenants.scope(acme).collection('orders').insertOne({ total: 1 });
    const raw = await tenants.master.collection('shared__orders').findOne({});
    expect(raw).toMatchObject({ orgId: acme.id, total: 1 });
    // The default collection's tenant index walks one tenant's documents in _id order (a drop's batches).
    const indexes = await tenants.master.collection('shared').indexes();
    expect(indexes.find((i) => i.name === 'orgId_1__id_1')?.key).toEqual({ orgId: 1, _id: 1 });
  });

  it('a shared drop halves its batch after a call slower than half its deadline, and doubles it back', async () => {
    // A 10 s lease gives each call a deadline of 2.5 s: a round over 1.25 s halves the next batch, one under 312 ms
    // doubles it. The first two finds are held 1.3 s (the hook runs inside the call's time, as a slow server would).
    let finds = 0;
    let deletes = 0;
    const hooks = {
      afterCall: async (e: { call: string }) => {
        if (e.call === 'delete tenant documents') deletes++;
        if (e.call === 'find tenant documents' && ++finds <= 2) await new Promise((done) => setTimeout(done, 1_300));
      },
    };
    const strategy = sharedCollections({ deleteBatchSize: 400 });
    const tenants = newManager({ strategy, hooks, leaseMs: 10_000 });
    const acme = await tenants.create({ name: 'Acme Corp' });
    await tenants
      .scope(acme)
      .collection()
      .insertMany(Array.from({ length: 1_000 }, (_, n) => ({ n })));
    await tenants.drop(acme.id);
    // 400 (slow), 200 (slow), 100, 200, then the last 100: five batches (six without doubling, three without halving).
    expect(deletes).toBe(5);
    expect(await tenants.master.collection('shared').countDocuments({ tenantId: acme.id })).toBe(0);
  });

  it('a shared drop deletes in batches of deleteBatchSize, and keeps the other tenants’ documents', async () => {
    let deletes = 0;
    const hooks = {
      afterCall: async (e: { call: string }) => void (e.call === 'delete tenant documents' && deletes++),
    };
    const tenants = newManager({ strategy: sharedCollections({ deleteBatchSize: 100 }), hooks });
    const [acme, kept] = [await tenants.create({ name: 'Acme Corp' }), await tenants.create({ name: 'Kept Corp' })];
    for (const tenant of [acme, kept]) {
      await tenants
        .scope(tenant)
        .collection()
        .insertMany(Array.from({ length: 250 }, (_, n) => ({ n })));
      await tenants
        .scope(tenant)
        .collection('orders')
        .insertMany(Array.from({ length: 150 }, (_, n) => ({ n })));
    }
    await tenants.drop(acme.id);
    expect(deletes).toBe(3 + 2); // 250 documents in the default collection, 150 in orders
    for (const name of ['shared', 'shared__orders']) {
      expect(await tenants.master.collection(name).countDocuments({ tenantId: acme.id })).toBe(0);
    }
    expect(await tenants.scope(kept).collection().countDocuments()).toBe(250);
    expect(await tenants.scope(kept).collection('orders').countDocuments()).toBe(150);
  });

  it('refuses options a layout cannot honour', async () => {
    const masterDbName = dbName('master');
    const prefix = testClient.dbPrefix();
    for (const bad of [
      () => databasePerTenant({ prefix: 'Tenant_' }),
      () => databasePerTenant({ prefix: 'a_much_too_long_prefix_' }),
      () => databasePerTenant({ renameStorage: true as never }),
      () => sharedCollections({ field: '_id' }),
      () => sharedCollections({ field: 'a.b' }),
      () => sharedCollections({ prefix: 'org_x' }),
      // The registry's and the library's own collections: a handle would write them.
      () => sharedCollections({ prefix: 'organizations' }),
      () => sharedCollections({ prefix: 'organization_names' }),
      () => sharedCollections({ prefix: 'org' }),
      () => sharedCollections({ prefix: 'tenancy_journal' }),
      () => sharedCollections({ prefix: 'auth_failures' }),
      () => sharedCollections({ prefix: 'system' }),
      // The server's own databases.
      () => sharedCollections({ database: 'admin' }),
      () => sharedCollections({ database: 'local' }),
      () => sharedCollections({ database: 'Config' }),
      // A database a database-per-tenant layout of the same manager would create, drop, or report.
      () =>
        newManager({
          strategy: sharedCollections({ database: `${prefix}acme` }),
          layouts: [databasePerTenant({ prefix })],
        }),
      () =>
        newManager({
          strategy: databasePerTenant({ prefix }),
          layouts: [sharedCollections({ database: `${prefix.slice(0, -1).toUpperCase()}_shared` })],
        }),
      () => newManager({ layouts: [databasePerTenant({ prefix }), collectionPerTenant({ database: `${prefix}x` })] }),
      () => sharedCollections({ renameStorage: true as never }),
      () => sharedCollections({ deleteBatchSize: 99 }),
      () => sharedCollections({ deleteBatchSize: 100_001 }),
      () => sharedCollections({ deleteBatchSize: 1.5 }),
      () => newManager({ masterDbName, strategy: databasePerTenant({ prefix: masterDbName.slice(0, 3) }) } as never),
      () => newManager({ strategy: sharedCollections(), layouts: [sharedCollections()] }),
      () => newManager({ layouts: [collectionPerTenant()] }),
      () => newManager({ layouts: [{ kind: 'other', bind: () => null } as never] }),
    ]) {
      expect(await codeOf(bad), bad.toString()).toBe('INVALID_OPTIONS');
    }
    // Beside them, a shared database outside the prefix and a prefix of its own are fine.
    const shared = sharedCollections({ prefix: 'orders_shared', database: dbName('shared') });
    expect(await codeOf(() => newManager({ strategy: shared, layouts: [databasePerTenant({ prefix })] }))).toBe(
      'resolved',
    );
  });
});

describe('doctor and databases it does not own', () => {
  it('reports an orphan database under its own prefix (removing it when empty), and ignores other layouts’ places', async () => {
    const prefix = testClient.dbPrefix();
    const masterDbName = dbName('master');
    const tenants = newManager({ masterDbName, strategy: databasePerTenant({ prefix }) });
    await tenants.init();
    await client.db(`${prefix}stray`).createCollection('left'); // empty: no key owns it
    await client.db(`${prefix}kept`).collection('left').insertOne({ n: 1 }); // documents: for a person
    // A manager not configured with a layout must never touch, or report, what lies at that layout's default places
    // (tenant_ for a database per tenant): it may be another application's.
    const foreign = client.db(`tenant_${prefix}foreign`);
    await foreign.createCollection('theirs');
    try {
      const bystander = newManager({ strategy: sharedCollections() });
      expect((await bystander.doctor({ fix: true })).findings).toEqual([]);
      expect(await foreign.listCollections().toArray()).toHaveLength(1);
    } finally {
      await foreign.dropDatabase();
    }
    const { findings } = await tenants.doctor({ fix: true });
    expect(findings.map((f) => [f.kind, f.subject, f.fixed]).sort()).toEqual([
      ['orphan-storage', `${prefix}kept`, false],
      ['orphan-storage', `${prefix}stray`, true],
    ]);
    const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
    expect(databases.map((d) => d.name).filter((n) => n.startsWith(prefix))).toEqual([`${prefix}kept`]);
  });
});

describe('mixed layouts', () => {
  it('creates a tenant in another layout on request, and serves both', async () => {
    const prefix = testClient.dbPrefix();
    const tenants = newManager({ strategy: sharedCollections(), layouts: [databasePerTenant({ prefix })] });
    const small = await tenants.create({ name: 'Small Co' });
    const large = await tenants.create({ name: 'Large Co', layout: 'database' });
    expect([small.storage.strategy, large.storage.strategy]).toEqual(['shared', 'database']);
    expect(large.storage.database).toBe(`${prefix}large_co`);
    expect(await application(tenants, small)).toEqual(await application(tenants, large));
    expect(await codeOf(() => tenants.create({ name: 'Odd', layout: 'odd' as never }))).toBe('INVALID_INPUT');
  });

  it('a manager given none of a tenant’s layout still scopes, drops and checks it', async () => {
    const masterDbName = dbName('master');
    const prefix = testClient.dbPrefix();
    const writer = newManager({ masterDbName, strategy: databasePerTenant({ prefix }) });
    const tenant = await writer.create({ name: 'Elsewhere' });
    const operator = newManager({ masterDbName }); // collection per tenant by default
    await operator.scope(tenant).collection('orders').insertOne({ n: 1 });
    expect(await writer.scope(tenant).collection('orders').countDocuments()).toBe(1);
    expect((await operator.doctor()).findings).toEqual([]);
    expect(await operator.drop(tenant.id)).toBe(true);
    const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
    expect(databases.map((d) => d.name)).not.toContain(tenant.storage.database);
  });
});
