/**
 * Hazards beyond a clean crash: a holder that stalls past its lease and wakes
 * up, a dead holder met by an already-running process, storage options that
 * changed between runs, and stale upserts that must never overwrite live data.
 */
import type { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { collectionPerTenant, type Tenant, type TenantManagerOptions } from '../../src/index.js';
import { managerFactory, serverKind, useTestClient } from '../support/context.js';
import { dieAfterCall, dieAt, gate } from '../support/gate.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const LEASE_MS = 5_000;

function shared(options: Partial<TenantManagerOptions> = {}) {
  const masterDbName = dbName('hz');
  return (more: Partial<TenantManagerOptions> = {}) =>
    managerFactory(client, () => masterDbName)({ leaseMs: LEASE_MS, ...options, ...more });
}

describe('leases', () => {
  it.each([
    ['rename', 'name-claimed', true],
    ['create', 'registered', false],
  ] as const)(
    'a %s that stalls past its lease after %s stops instead of writing over the recovery',
    async (op, stop, renameStorage) => {
      const make = shared({ strategy: collectionPerTenant({ renameStorage }) });
      const victim = await make().create({ name: 'Victim' });
      let offset = 0;
      const reached = gate();
      const release = gate();
      const stalled = make({
        clock: () => new Date(Date.now() + offset),
        hooks: {
          afterStep: async (e) => {
            if (e.op !== op || e.step !== stop) return;
            reached.open();
            await release.closed;
          },
        },
      });
      const running = op === 'rename' ? stalled.rename(victim.id, 'Fast Corp') : stalled.create({ name: 'Orphan' });
      await reached.closed;
      const later = new Date(Date.now() + 2 * LEASE_MS);
      const recovering = make({ clock: () => later });
      expect((await recovering.recover()).operations).toHaveLength(1);
      offset = 2 * LEASE_MS; // the stalled process wakes up, a lease later
      release.open();
      await expect(running).rejects.toMatchObject({ code: 'CONFLICT' });
      await assertInvariants(client, recovering, { tenants: 1 });
      expect(await recovering.get(victim.id)).toMatchObject({ name: 'Victim', status: 'active' });
    },
  );

  it('a running process settles a dead holder of the name it wants, instead of refusing until restart', async () => {
    const make = shared();
    const death = dieAt('registered');
    void make({ hooks: { afterStep: death.afterStep } }).create({ name: 'Contested Name' });
    await death.reached;
    let offset = 0;
    const running = make({ clock: () => new Date(Date.now() + offset) });
    await running.init();
    await expect(running.create({ name: 'Contested Name' })).rejects.toMatchObject({ code: 'TENANT_EXISTS' });
    offset = 2 * LEASE_MS;
    expect(await running.create({ name: 'Contested Name' })).toMatchObject({ status: 'active' });
    await assertInvariants(client, running, { tenants: 1 });
  });
});

describe('storage options that changed between runs', () => {
  it('a rename that moves storage keeps it in the tenant’s own database', async () => {
    const make = shared();
    const t = await make({ strategy: collectionPerTenant() }).create({ name: 'Stays Home' });
    await make()
      .scope(t)
      .collection()
      .insertMany([{ a: 1 }, { a: 2 }]);
    const other = make({ strategy: collectionPerTenant({ database: dbName('elsewhere'), renameStorage: true }) });
    const renamed = await other.rename(t.id, 'Moved Name');
    expect(renamed.storage).toEqual({
      strategy: 'collection',
      database: t.storage.database,
      collection: 'org_moved_name',
    });
    expect(await other.scope(renamed).collection().countDocuments()).toBe(2);
    await assertInvariants(client, other, { tenants: 1 });
  });
});

describe('stale upserts', () => {
  it('never overwrite a live document when strays are moved', async () => {
    const tenants = shared({ strategy: collectionPerTenant({ renameStorage: true }) })();
    const t = await tenants.create({ name: 'Payroll' });
    const stale = tenants.scope(t).collection<{ _id: string; name?: string; salary?: number; flagged?: boolean }>();
    await stale.insertOne({ _id: 'emp-1', name: 'Ada', salary: 100 });
    const renamed = await tenants.rename(t.id, 'Payroll Two');
    const write = stale.updateOne({ _id: 'emp-1' }, { $set: { flagged: true } }, { upsert: true });
    if (serverKind() === 'ferretdb') {
      await write; // not rejected here: it lands in the tombstone
      expect(await tenants.purgeTombstones({ olderThanMs: 0 })).toMatchObject({ conflicts: 1, moved: 0, purged: 1 });
    } else {
      expect(((await write.catch((e: unknown) => e)) as MongoServerError).code).toBe(11000);
    }
    const live = await tenants
      .scope(renamed as Tenant)
      .collection()
      .findOne({ _id: 'emp-1' as never });
    expect(live).toEqual({ _id: 'emp-1', name: 'Ada', salary: 100 });
  });
});

describe('tombstones', () => {
  it('one made half-way (its index, not its marker) is not taken for a tombstone: recovery completes it', async () => {
    const make = shared();
    const victim = await make().create({ name: 'Half Made' });
    await make().scope(victim).collection().insertOne({ a: 1 });
    const probe = dieAfterCall();
    const probing = shared()({ hooks: { afterCall: probe.afterCall } });
    await probing.drop((await probing.create({ name: 'Probe' })).id);
    const dropCalls = probe.calls.filter((c) => c.op === 'drop');
    expect(dropCalls.map((c) => c.call)).toContain('create tombstone index');
    const death = dieAfterCall(dropCalls.findIndex((c) => c.call === 'create tombstone index') + 1);
    void make({ hooks: { afterCall: death.afterCall } }).drop(victim.id);
    await death.reached;
    const collection = client.db(victim.storage.database).collection(victim.storage.collection);
    expect((await collection.indexes()).map((i) => i.name)).toContain('mongo_tenancy_tombstone');
    expect(await collection.findOne({ _id: '__mongo_tenancy_tombstone__' as never })).toBeNull();

    const later = new Date(Date.now() + 2 * LEASE_MS);
    expect((await make({ clock: () => later }).recover()).operations).toMatchObject([{ op: 'drop' }]);
    expect(await collection.findOne({ _id: '__mongo_tenancy_tombstone__' as never })).not.toBeNull();
    await assertInvariants(client, make(), { tenants: 0 });
  });
});
