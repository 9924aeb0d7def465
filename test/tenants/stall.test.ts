/**
 * Fencing: one command of a journaled step is held in the network (a
 * loopback proxy) past the lease, while another process takes the operation
 * over and settles it; then the command lands. Metadata writes are fenced by
 * the lease's epoch, so a late one matches nothing and the invariants hold as
 * they are. A late insert or storage command cannot be refused by any
 * MongoDB command; `doctor` finds what it left and repairs it. In every case
 * the stalled process reports `CONFLICT`.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  collectionPerTenant,
  type FindingKind,
  type Tenant,
  type TenantManager,
  type TenantManagerOptions,
} from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { assertInvariants } from '../support/invariants.js';
import { type HoldSpec, type StallProxy, startStallProxy } from '../support/stall-proxy.js';

const { client, dbName } = useTestClient();
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
    hold: { command: 'findAndModify', target: 'organizations' },
    run: (t, v) => t.rename(v.id, 'Renamed Corp'),
    finds: [],
    expected: { name: 'Victim Corp', status: 'active' },
    tenants: 1,
  },
  {
    kind: 'registry insert (create)',
    hold: { command: 'insert', target: 'organizations' },
    run: (t) => t.create({ name: 'Newborn Inc' }),
    finds: [], // a record stranded in `creating`: the next recover() (init runs it) undoes it
    expected: { name: 'Victim Corp' },
    tenants: 1,
  },
  {
    kind: 'name claim insert (create)',
    hold: { command: 'insert', target: 'organization_names' },
    run: (t) => t.create({ name: 'Newborn Inc' }),
    finds: ['orphan-name'],
    expected: { name: 'Victim Corp' },
    tenants: 1,
  },
  {
    kind: 'name claim delete (rename), the name taken back meanwhile',
    hold: { command: 'delete', target: 'organization_names' },
    run: (t, v) => t.rename(v.id, 'Renamed Corp'),
    meanwhile: async (t, v) => void (await t.rename(v.id, 'Victim Corp')),
    finds: [],
    expected: { name: 'Victim Corp', status: 'active' },
    tenants: 1,
  },
  {
    kind: 'key claim update (rename with storage)',
    hold: { command: 'update', target: 'organization_keys' },
    renameStorage: true,
    run: (t, v) => t.rename(v.id, 'Renamed Corp'),
    finds: [],
    expected: { name: 'Renamed Corp', key: 'renamed_corp', status: 'active' },
    tenants: 1,
  },
  {
    kind: 'storage rename',
    hold: { command: 'renameCollection', target: 'org_victim_corp' },
    renameStorage: true,
    run: (t, v) => t.rename(v.id, 'Renamed Corp'),
    finds: [],
    expected: { name: 'Renamed Corp', key: 'renamed_corp', status: 'active' },
    tenants: 1,
  },
  {
    kind: 'storage drop',
    hold: { command: 'drop', target: 'org_victim_corp' },
    run: (t, v) => t.drop(v.id),
    finds: ['broken-tombstone'],
    expected: null,
    tenants: 0,
  },
  {
    kind: 'storage create',
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
    offset = 2 * LEASE_MS;
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

describe('deadlines', () => {
  it('every call under a lease carries maxTimeMS of a quarter lease', async () => {
    const monitored = new MongoClient(inject('mongoUri'), { monitorCommands: true });
    const seen: Array<{ name: string; maxTimeMS: unknown }> = [];
    monitored.on('commandStarted', (e) => seen.push({ name: e.commandName, maxTimeMS: e.command.maxTimeMS }));
    try {
      const tenants = managerFactory(monitored, dbName)({ leaseMs: 8_000 });
      await tenants.init();
      seen.length = 0;
      const acme = await tenants.create({ name: 'Bounded' });
      await tenants.rename(acme.id, 'Still Bounded');
      await tenants.drop(acme.id);
      const leased = seen.filter((c) => c.maxTimeMS !== undefined);
      expect(new Set(leased.map((c) => c.maxTimeMS))).toEqual(new Set([2_000]));
      // Every write of an operation is bounded (only the first insert of a lease, which decides who holds it, is not).
      const writes = seen.filter((c) => ['update', 'delete', 'findAndModify', 'create', 'drop'].includes(c.name));
      expect(writes.length).toBeGreaterThan(10);
      expect(writes.filter((c) => c.maxTimeMS === undefined)).toEqual([]);
    } finally {
      await monitored.close();
    }
  });

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
