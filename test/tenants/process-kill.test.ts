/**
 * Real processes killed with SIGKILL between two steps of an operation, then
 * settled by the next process's init(): a create (undone) and a drop
 * (finished) under each layout, and a rename that moves storage (finished)
 * under a collection per tenant.
 */
import { type Document, ObjectId } from 'mongodb';
import { describe, expect, inject, it } from 'vitest';
import type { StorageKind, Tenant, TenantManager } from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { type ChildSpec, childStrategy, startChild } from '../support/crash-child.js';
import { assertInvariants } from '../support/invariants.js';

const testClient = useTestClient();
const { client, dbName } = testClient;
const LEASE_MS = 5_000;
const LAYOUTS: StorageKind[] = ['collection', 'database', 'shared'];

/** Runs the child until it reports `spec.stopStep`, and kills it there with SIGKILL. */
async function killAtStep(spec: ChildSpec & { stopStep: string }): Promise<void> {
  const child = startChild(spec);
  child.onLine((line) => {
    if (line === `step:${spec.op}:${spec.stopStep}`) child.kill();
  });
  expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
}

/** A spec for `layout` on a fresh master database, and managers of the same layout on it. */
function world(layout: StorageKind, renameStorage = false) {
  const masterDbName = dbName('kill');
  const base = {
    uri: inject('mongoUri'),
    masterDbName,
    leaseMs: LEASE_MS,
    layout,
    renameStorage,
    ...(layout === 'database' ? { prefix: testClient.dbPrefix() } : {}),
  };
  const make = managerFactory(client, () => masterDbName);
  const strategy = childStrategy(base);
  return {
    base,
    /** A manager of this process. */
    now: () => make({ strategy, leaseMs: LEASE_MS }),
    /** A process started two leases after the dead one: its lease has expired. */
    later: () => make({ strategy, leaseMs: LEASE_MS, clock: () => new Date(Date.now() + 2 * LEASE_MS) }),
  };
}

async function fill(tenants: TenantManager, tenant: Tenant): Promise<void> {
  await tenants
    .scope(tenant)
    .collection()
    .insertMany(Array.from({ length: 40 }, (_, i) => ({ i })));
  await tenants
    .scope(tenant)
    .collection('events')
    .insertMany(Array.from({ length: 8 }, (_, i) => ({ e: i })));
}

async function counts(tenants: TenantManager, tenant: Tenant): Promise<number[]> {
  const scope = tenants.scope(tenant);
  return [
    await scope.collection().countDocuments({ i: { $exists: true } }),
    await scope.collection('events').countDocuments({ e: { $exists: true } }),
  ];
}

async function databaseNames(): Promise<string[]> {
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  return databases.map((d) => d.name);
}

describe.each(LAYOUTS)('the %s layout', (layout) => {
  it('a create killed after it made the storage is undone by the next init()', async () => {
    const w = world(layout);
    await killAtStep({ ...w.base, op: 'create', name: 'Doomed Corp', stopStep: 'provisioned' });

    const tenants = w.later();
    const [record] = (await tenants.master.collection('organizations').find().toArray()) as Document[];
    expect(record).toMatchObject({ name: 'Doomed Corp', status: 'creating', storage: { strategy: layout } });
    if (layout === 'database') expect(await databaseNames()).toContain(record?.storage.database);
    else {
      const existing = await client.db(record?.storage.database).listCollections({}, { nameOnly: true }).toArray();
      expect(existing.map((c) => c.name)).toContain(record?.storage.collection);
    }

    await tenants.init();
    expect(await tenants.get({ name: 'Doomed Corp' })).toBeNull();
    const keys = await tenants.master.collection('organization_keys').find().toArray();
    expect(keys.map((k) => [k._id, k.state])).toEqual([['doomed_corp', 'purged']]);
    if (layout === 'database') expect(await databaseNames()).not.toContain(record?.storage.database);
    await assertInvariants(client, tenants, { tenants: 0, databasePrefix: w.base.prefix });
    // The name is free again.
    expect(await tenants.create({ name: 'Doomed Corp' })).toMatchObject({ status: 'active', key: 'doomed_corp_2' });
  }, 60_000);

  it('a drop killed after listing the storage is finished by the next init(), the other tenant untouched', async () => {
    const w = world(layout);
    const tenants = w.now();
    const [doomed, bystander] = [await tenants.create({ name: 'Doomed Corp' }), await tenants.create({ name: 'Kept' })];
    await fill(tenants, doomed);
    await fill(tenants, bystander);

    await killAtStep({ ...w.base, op: 'drop', tenantId: doomed.id, stopStep: 'inventoried' });

    const after = w.later();
    const marked = await after.master.collection('organizations').findOne({ _id: new ObjectId(doomed.id) });
    expect(marked).toMatchObject({ status: 'dropping' }); // get() no longer shows it
    await after.init();
    expect(await after.get(doomed.id)).toBeNull();
    expect(await counts(after, doomed)).toEqual([0, 0]);
    expect(await counts(after, bystander)).toEqual([40, 8]);
    if (layout === 'database') expect(await databaseNames()).not.toContain(doomed.storage.database);
    await assertInvariants(client, after, { tenants: 1, databasePrefix: w.base.prefix });
  }, 60_000);
});

describe('a collection per tenant, storage following the name', () => {
  it.each(['key-claimed', 'moved'])(
    'a rename killed after %s is finished by the next init()',
    async (stopStep) => {
      const w = world('collection', true);
      const tenants = w.now();
      const t = await tenants.create({ name: 'Killed Corp' });
      await fill(tenants, t);

      await killAtStep({ ...w.base, op: 'rename', tenantId: t.id, name: 'Survivor Corp', stopStep });

      const after = w.later();
      await after.init();
      const recovered = await after.get(t.id);
      expect(recovered).toMatchObject({ name: 'Survivor Corp', key: 'survivor_corp', status: 'active' });
      expect(await counts(after, recovered as Tenant)).toEqual([40, 8]);
      await assertInvariants(client, after, { tenants: 1 });
    },
    60_000,
  );
});
