/**
 * Fencing: one command of a journaled step is held in the network (a
 * loopback proxy) past the lease, while another process takes the operation
 * over and settles it; then the command lands. Metadata writes are fenced by
 * the lease's epoch, so a late one matches nothing and the invariants hold as
 * they are. A late insert or storage command cannot be refused by any
 * MongoDB command; `doctor` finds what it left and repairs it. In every case
 * the stalled process reports `CONFLICT`.
 */
import { MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AuthService,
  bcryptHasher,
  collectionPerTenant,
  type FindingKind,
  type Tenant,
  type TenantManager,
  type TenantManagerOptions,
} from '../../src/index.js';
import { PASSWORD, strongSecret } from '../support/auth.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { gate } from '../support/gate.js';
import { assertInvariants } from '../support/invariants.js';
import { layoutCases } from '../support/layouts.js';
import { type HoldSpec, type StallProxy, startStallProxy } from '../support/stall-proxy.js';

const testClient = useTestClient();
const { client, dbName } = testClient;
const LEASE_MS = 60_000;
let proxy: StallProxy;
let stalledClient: MongoClient;

beforeAll(async () => {
  proxy = await startStallProxy(inject('mongoUri'));
  stalledClient = new MongoClient(proxy.uri);
});
afterAll(async () => {
  await stalledClient.close(true);
  await proxy.close();
});

interface Case {
  /** The kind of write held. */
  kind: string;
  hold: HoldSpec;
  renameStorage?: boolean;
  run: (stalled: TenantManager, victim: Tenant) => Promise<unknown>;
  /**
   * Whether the holder is still stalled when its command lands (its clock a lease ahead, so it sends
   * nothing more). For fenced writes it is not: it goes on, and the fence alone must refuse it.
   */
  stillStalled: boolean;
  /** What else happens after the recovery, before the late command lands. */
  meanwhile?: (tenants: TenantManager, victim: Tenant) => Promise<void>;
  /** What `doctor` must find once it landed: nothing when the write is fenced. */
  finds: FindingKind[];
  /** The victim as it must be at the end. */
  expected: Partial<Tenant> | null;
  /** How many tenants exist at the end. */
  tenants: number;
}

const cases: Case[] = [
  {
    kind: 'registry update (rename)',
    stillStalled: false,
    hold: { command: 'findAndModify', target: 'organizations' },
    run: (t, v) => t.rename(v.id, 'Renamed Corp'),
    finds: [],
    expected: { name: 'Victim Corp', status: 'active' },
    tenants: 1,
  },
  {
    kind: 'registry insert (create)',
    stillStalled: true,
    hold: { command: 'insert', target: 'organizations' },
    run: (t) => t.create({ name: 'Newborn Inc' }),
    finds: [], // a record stranded in `creating`: the next recover() (init runs it) undoes it
    expected: { name: 'Victim Corp' },
    tenants: 1,
  },
  {
    kind: 'name claim insert (create)',
    stillStalled: true,
    hold: { command: 'insert', target: 'organization_names' },
    run: (t) => t.create({ name: 'Newborn Inc' }),
    finds: ['orphan-name'],
    expected: { name: 'Victim Corp' },
    tenants: 1,
  },
  {
    kind: 'name claim delete (rename), the name taken back meanwhile',
    stillStalled: false,
    hold: { command: 'delete', target: 'organization_names' },
    run: (t, v) => t.rename(v.id, 'Renamed Corp'),
    meanwhile: async (t, v) => void (await t.rename(v.id, 'Victim Corp')),
    finds: [],
    expected: { name: 'Victim Corp', status: 'active' },
    tenants: 1,
  },
  {
    kind: 'key claim update (rename with storage)',
    stillStalled: false,
    hold: { command: 'update', target: 'organization_keys' },
    renameStorage: true,
    run: (t, v) => t.rename(v.id, 'Renamed Corp'),
    finds: [],
    expected: { name: 'Renamed Corp', key: 'renamed_corp', status: 'active' },
    tenants: 1,
  },
  {
    kind: 'email claim insert (registration)',
    stillStalled: true,
    hold: { command: 'insert', target: 'organization_admin_emails' },
    run: (t) =>
      new AuthService({
        tenants: t,
        hasher: bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
        tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] },
      }).registerOrganization({ name: 'Newborn Inc', email: 'owner@newborn.test', password: PASSWORD }),
    finds: ['orphan-owned'],
    expected: { name: 'Victim Corp' },
    tenants: 1,
  },
  {
    kind: 'storage rename',
    stillStalled: true,
    hold: { command: 'renameCollection', target: 'org_victim_corp' },
    renameStorage: true,
    run: (t, v) => t.rename(v.id, 'Renamed Corp'),
    finds: [],
    expected: { name: 'Renamed Corp', key: 'renamed_corp', status: 'active' },
    tenants: 1,
  },
  {
    kind: 'storage drop',
    stillStalled: true,
    hold: { command: 'drop', target: 'org_victim_corp' },
    run: (t, v) => t.drop(v.id),
    finds: ['broken-tombstone'],
    expected: null,
    tenants: 0,
  },
  {
    kind: 'storage create',
    stillStalled: true,
    hold: { command: 'create', target: 'org_newborn_inc' },
    run: (t) => t.create({ name: 'Newborn Inc' }),
    finds: ['orphan-storage'],
    expected: { name: 'Victim Corp' },
    tenants: 1,
  },
];

describe.each(cases)('a stalled $kind', (c) => {
  it('lands after the recovery without undoing it, and the holder hears CONFLICT', async () => {
    const masterDbName = dbName('stall');
    const options: Partial<TenantManagerOptions> = {
      leaseMs: LEASE_MS,
      strategy: collectionPerTenant({ renameStorage: c.renameStorage ?? false }),
    };
    const make = (more: Partial<TenantManagerOptions> = {}) =>
      managerFactory(client, () => masterDbName)({ ...options, ...more });
    const victim = await make().create({ name: 'Victim Corp' });
    await make()
      .scope(victim)
      .collection()
      .insertMany([{ a: 1 }, { a: 2 }]);

    let offset = 0;
    const stalled = managerFactory(
      stalledClient,
      () => masterDbName,
    )({
      ...options,
      clock: () => new Date(Date.now() + offset),
    });
    await stalled.init();
    const held = proxy.hold(c.hold);
    const running = c.run(stalled, victim).then(
      () => null,
      (error: { code?: string }) => error.code,
    );
    await held.reached;

    // The holder stalls past its lease; another process takes the operation over and settles it.
    if (c.stillStalled) offset = 2 * LEASE_MS;
    const recovering = make({ clock: () => new Date(Date.now() + 2 * LEASE_MS) });
    const report = await recovering.recover();
    expect(report.operations).toHaveLength(1);
    expect(report.failed).toEqual([]);
    await c.meanwhile?.(make(), victim);

    held.release();
    await held.landed;
    expect(await running).toBe('CONFLICT');

    const after = make();
    const found = await after.doctor();
    expect(found.findings.map((f) => f.kind)).toEqual(c.finds);
    if (c.finds.length > 0) {
      const fixed = await after.doctor({ fix: true });
      expect(fixed.findings.every((f) => f.fixed)).toBe(true);
      expect((await after.doctor()).findings).toEqual([]);
    }
    await assertInvariants(client, after, { tenants: c.tenants });
    const now = await after.get(victim.id);
    if (c.expected === null) expect(now).toBeNull();
    else expect(now).toMatchObject(c.expected);
    if (now) expect(await after.scope(now).collection().countDocuments()).toBe(2);
  });
});

it('a name whose claim outlived its create is free again for the next create, without doctor', async () => {
  const masterDbName = dbName('stall');
  const make = (more: Partial<TenantManagerOptions> = {}) =>
    managerFactory(client, () => masterDbName)({ leaseMs: LEASE_MS, ...more });
  let offset = 0;
  const stalled = managerFactory(
    stalledClient,
    () => masterDbName,
  )({
    leaseMs: LEASE_MS,
    clock: () => new Date(Date.now() + offset),
  });
  await stalled.init();
  const held = proxy.hold({ command: 'insert', target: 'organization_names' });
  const running = stalled.create({ name: 'Contested' }).catch((error: { code?: string }) => error.code);
  await held.reached;
  offset = 2 * LEASE_MS;
  await make({ clock: () => new Date(Date.now() + 2 * LEASE_MS) }).recover();
  held.release();
  await held.landed;
  expect(await running).toBe('CONFLICT');
  const tenants = make();
  expect(await tenants.create({ name: 'Contested' })).toMatchObject({ name: 'Contested', status: 'active' });
  await assertInvariants(client, tenants, { tenants: 1 });
});

/** Commands that write. */
const WRITES: ReadonlySet<string> = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'create',
  'drop',
  'dropDatabase',
  'renameCollection',
  'createIndexes',
]);

describe('deadlines', () => {
  it('every write of an operation carries maxTimeMS of a quarter lease', async () => {
    const monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
    const seen: Array<{ name: string; maxTimeMS: unknown }> = [];
    monitored.on('commandStarted', (e) => seen.push({ name: e.commandName, maxTimeMS: e.command.maxTimeMS }));
    try {
      const tenants = managerFactory(
        monitored,
        dbName,
      )({
        leaseMs: 8_000,
        strategy: collectionPerTenant({ renameStorage: true }),
      });
      const auth = new AuthService({
        tenants,
        hasher: bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
        tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] },
      });
      await auth.init();
      seen.length = 0;
      const { tenant } = await auth.registerOrganization({
        name: 'Bounded',
        email: 'b@bounded.test',
        password: PASSWORD,
      });
      await tenants.rename(tenant.id, 'Still Bounded');
      await tenants.drop(tenant.id);
      await tenants.purgeTombstones({ olderThanMs: 0 });
      const writes = seen.filter((c) =>
        ['insert', 'update', 'delete', 'findAndModify', 'create', 'drop', 'renameCollection', 'createIndexes'].includes(
          c.name,
        ),
      );
      expect(new Set(writes.map((c) => c.name))).toEqual(
        new Set(['insert', 'update', 'delete', 'findAndModify', 'create', 'drop', 'renameCollection', 'createIndexes']),
      );
      expect(writes.filter((c) => c.maxTimeMS !== 2_000)).toEqual([]);
    } finally {
      await monitored.close();
    }
  });

  it.each(layoutCases(testClient).filter((c) => c.kind !== 'collection'))(
    'under the $kind layout too, every write of a create, a drop and a purge carries maxTimeMS of a quarter lease',
    async ({ kind, strategy }) => {
      const monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
      const seen: Array<{ name: string; maxTimeMS: unknown }> = [];
      monitored.on('commandStarted', (e) => seen.push({ name: e.commandName, maxTimeMS: e.command.maxTimeMS }));
      try {
        const tenants = managerFactory(monitored, dbName)({ leaseMs: 8_000, strategy: strategy() });
        await tenants.init();
        seen.length = 0; // the master's own indexes, made once by init, before any operation
        const writes: Array<{ name: string; maxTimeMS: unknown }> = [];
        const leased = async (operation: () => Promise<unknown>) => {
          seen.length = 0;
          await operation();
          writes.push(...seen.filter((c) => WRITES.has(c.name)));
        };
        let tenant = await tenants.create({ name: 'Bounded' });
        writes.push(...seen.filter((c) => WRITES.has(c.name)));
        await tenants
          .scope(tenant)
          .collection('orders')
          .insertMany([{ n: 1 }, { n: 2 }]); // the tenant's own writes
        await leased(async () => {
          tenant = await tenants.rename(tenant.id, 'Still Bounded');
        });
        await leased(() => tenants.drop(tenant.id));
        await leased(() => tenants.purgeTombstones({ olderThanMs: 0 }));
        const storageWrite = kind === 'database' ? 'dropDatabase' : 'delete';
        expect(writes.map((c) => c.name)).toContain(storageWrite);
        expect(writes.filter((c) => c.maxTimeMS !== 2_000)).toEqual([]);
      } finally {
        await monitored.close();
      }
    },
  );

  it('a call that passes its deadline is given up; the holder settles under a new epoch, and the call landing later is refused', async () => {
    const masterDbName = dbName('deadline');
    const make = (c: MongoClient) => managerFactory(c, () => masterDbName)({ leaseMs: 1_000 });
    const victim = await make(client).create({ name: 'Slow Corp' });
    const stalled = make(stalledClient);
    await stalled.init();
    const held = proxy.hold({ command: 'findAndModify', target: 'organizations' });
    const running = stalled.rename(victim.id, 'Fast Corp').catch((error: { code?: string; details?: object }) => error);
    await held.reached;
    // The client-side deadline (250 ms) passes: the caller hears a STORAGE timeout, and the rename was undone.
    expect(await running).toMatchObject({ code: 'STORAGE', details: { timedOut: true } });
    held.release();
    await held.landed;
    const after = make(client);
    expect(await after.get(victim.id)).toMatchObject({ name: 'Slow Corp', status: 'active' });
    expect((await after.doctor()).findings).toEqual([]);
    await assertInvariants(client, after, { tenants: 1 });
  });
});

describe('what the review of fencing found', () => {
  it('a purge whose drop timed out and lands later cannot reach a tenant created since: names are never reused', async () => {
    const masterDbName = dbName('reuse');
    const make = (c: MongoClient) => managerFactory(c, () => masterDbName)({ leaseMs: 1_000 });
    const direct = make(client);
    await direct.drop((await direct.create({ name: 'Ghost' })).id);
    const stalled = make(stalledClient);
    await stalled.init();
    const held = proxy.hold({ command: 'drop', target: 'org_ghost' });
    const purging = stalled.purgeTombstones({ olderThanMs: 0 }).catch((error: { code?: string }) => error.code);
    await held.reached;
    expect(await purging).toBe('STORAGE'); // given up at its deadline, then settled under a new epoch
    const reborn = await direct.create({ name: 'Ghost' });
    expect(reborn.key).toBe('ghost_2');
    await direct
      .scope(reborn)
      .collection()
      .insertMany([{ a: 1 }, { a: 2 }, { a: 3 }]);
    held.release();
    await held.landed;
    expect(await direct.scope(reborn).collection().countDocuments()).toBe(3);
    await assertInvariants(client, direct, { tenants: 1 });
  });

  it('a step of many calls renews its lease as it goes instead of stalling out', async () => {
    // Each database call takes a tenth of the lease on this clock; a step moving 20 collections makes far more
    // calls than fit in half a lease.
    let offset = 0;
    const tenants = managerFactory(
      client,
      dbName,
    )({
      leaseMs: 1_000,
      strategy: collectionPerTenant({ renameStorage: true }),
      clock: () => new Date(Date.now() + offset),
      hooks: {
        afterCall: () => {
          offset += 100;
        },
      },
    });
    const many = await tenants.create({ name: 'Many Collections' });
    for (let i = 0; i < 20; i++) await tenants.scope(many).collection(`c${i}`).insertOne({ i });
    const renamed = await tenants.rename(many.id, 'Still Many');
    expect(renamed).toMatchObject({ key: 'still_many', status: 'active' });
    expect(await tenants.scope(renamed).collection('c19').countDocuments()).toBe(1);
    await assertInvariants(client, tenants, { tenants: 1 });
  });

  it('doctor re-checks a broken tombstone under its lease: one purged since the scan is left alone', async () => {
    const masterDbName = dbName('rescan');
    const make = (more: Partial<TenantManagerOptions> = {}) =>
      managerFactory(client, () => masterDbName)({ leaseMs: LEASE_MS, ...more });
    const tenants = make();
    const other = await tenants.create({ name: 'Aardvark' });
    // An active key claim its tenant's record does not carry ("aaa" sorts before "ghost"): doctor repairs it first.
    await tenants.master.collection('organization_keys').insertOne({
      _id: 'aaa_orphan',
      tenantId: ObjectId.createFromHexString(other.id),
      state: 'active',
      storage: { strategy: 'collection', database: masterDbName, collection: 'org_aaa_orphan' },
      updatedAt: new Date(),
    } as never);
    const ghost = await tenants.create({ name: 'Ghost' });
    await tenants.drop(ghost.id);
    await client.db(masterDbName).collection('org_ghost').drop(); // a tombstone broken by a late drop
    let paused = false;
    const release = gate();
    const reached = gate();
    const doctor = make({
      hooks: {
        afterCall: async (e) => {
          if (paused || e.op !== 'repair' || e.tenantId !== other.id) return;
          paused = true;
          reached.open();
          await release.closed;
        },
      },
    }).doctor({ fix: true });
    await reached.closed;
    expect(await tenants.purgeTombstones({ olderThanMs: 0 })).toMatchObject({ purged: 1 });
    release.open();
    const report = await doctor;
    expect(report.findings.find((f) => f.kind === 'broken-tombstone')).toMatchObject({ fixed: false });
    expect(await client.db(masterDbName).listCollections({ name: 'org_ghost' }).toArray()).toEqual([]);
    await assertInvariants(client, tenants, { tenants: 1 });
  });

  it('an operation whose failed call had in fact landed, and which the settlement finished, reports success', async () => {
    const tenants = managerFactory(
      client,
      dbName,
    )({
      hooks: {
        afterCall: (e) => {
          if (e.op === 'create' && e.call === 'update tenant') throw new Error('the answer was lost');
        },
      },
    });
    expect(await tenants.create({ name: 'Landed Anyway' })).toMatchObject({ name: 'Landed Anyway', status: 'active' });
  });
});
