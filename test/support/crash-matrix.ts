/**
 * The crash matrix: every journaled operation, under each layout it applies
 * to, stopped after each database call it makes (a process that dies there,
 * or a call whose answer is lost), then recovered, and the recovery itself
 * stopped after each of its calls, including every call of taking the lease
 * over. Each scenario says what outcome the documented finish-or-undo table
 * (docs/architecture.md) requires, given whether the stop came before or
 * after the operation's decisive call.
 */
import type { MongoClient } from 'mongodb';
import { expect } from 'vitest';
import {
  AuthService,
  bcryptHasher,
  type CallEvent,
  collectionPerTenant,
  databasePerTenant,
  type IsolationStrategy,
  type StorageKind,
  sharedCollections,
  type Tenant,
  type TenantManager,
  type TenantManagerOptions,
} from '../../src/index.js';
import { PASSWORD, strongSecret } from './auth.js';
import { managerFactory } from './context.js';
import { dieAfterCall } from './gate.js';
import { assertInvariants } from './invariants.js';

export const LEASE_MS = 5_000;

/** The layouts, in the order the matrix runs them. */
export const LAYOUTS: readonly StorageKind[] = ['collection', 'database', 'shared'];

/** What a test file gives the matrix (see `useTestClient`): its client and fresh names it cleans up. */
export interface TestDatabases {
  readonly client: MongoClient;
  readonly dbName: (label?: string) => string;
  readonly dbPrefix: () => string;
}

export interface World {
  readonly layout: StorageKind;
  readonly client: MongoClient;
  readonly victim: Tenant;
  readonly make: (options?: Partial<TenantManagerOptions>) => TenantManager;
  /** The prefix of this world's tenant databases (the database layout), so the invariants see all of them. */
  readonly databasePrefix: string | undefined;
}

export interface Scenario {
  readonly name: string;
  /** The layouts it applies to: storage that follows a rename exists under a collection per tenant only. */
  readonly layouts: readonly StorageKind[];
  readonly renameStorage: boolean;
  /** Prepares more than the seeded victim, before the operation. */
  readonly prepare?: (world: World) => Promise<void>;
  readonly run: (tenants: TenantManager, world: World) => Promise<unknown>;
  /** The call that commits the operation: stopped at or after it, it is finished; before, undone. */
  readonly decisive: ((event: CallEvent) => boolean) | null;
  /** Asserts the documented outcome. */
  readonly check: (after: TenantManager, world: World, committed: boolean) => Promise<void>;
}

/** A scenario under one layout: one row of the matrix. */
export interface MatrixCase {
  readonly name: string;
  readonly layout: StorageKind;
  readonly scenario: Scenario;
}

const isUpdate = (op: CallEvent['op']) => (e: CallEvent) => e.op === op && e.call === 'update tenant';

const VICTIM_DOCUMENTS = 30;
const VICTIM_ORDERS = 12;

async function intact(after: TenantManager, id: string, expected: Partial<Tenant>): Promise<void> {
  const tenant = await after.get(id);
  expect(tenant).toMatchObject(expected);
  const scope = after.scope(tenant as Tenant);
  expect(await scope.collection().countDocuments()).toBe(VICTIM_DOCUMENTS);
  expect(await scope.collection('orders').countDocuments()).toBe(VICTIM_ORDERS);
}

/** Nothing of a dropped tenant's data is left: no document (a tombstone's marker is none), no database. */
async function gone(world: World, after: TenantManager, tenant: Tenant): Promise<void> {
  // A handle on a tenant that is gone still names its storage (scope() does no I/O).
  const scope = after.scope(tenant);
  expect(await scope.collection().countDocuments({ i: { $exists: true } })).toBe(0);
  expect(await scope.collection('orders').countDocuments({ o: { $exists: true } })).toBe(0);
  if (tenant.storage.strategy === 'database')
    expect(await databases(world.client)).not.toContain(tenant.storage.database);
}

async function databases(client: MongoClient): Promise<string[]> {
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  return databases.map((d) => d.name);
}

export const scenarios: Scenario[] = [
  {
    name: 'create',
    layouts: LAYOUTS,
    renameStorage: false,
    run: (t) => t.create({ name: 'Newborn Inc' }),
    decisive: isUpdate('create'),
    async check(after, world, committed) {
      const born = (await after.list()).tenants.filter((t) => t.name === 'Newborn Inc');
      expect(born.map((t) => [t.status, t.storage.strategy])).toEqual(committed ? [['active', world.layout]] : []);
    },
  },
  {
    name: 'register (create with its first admin)',
    layouts: LAYOUTS,
    renameStorage: false,
    run: (tenants) =>
      new AuthService({
        tenants,
        hasher: bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
        tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] },
      }).registerOrganization({ name: 'Newborn Inc', email: 'owner@newborn.test', password: PASSWORD }),
    decisive: isUpdate('create'),
    async check(after, _w, committed) {
      const born = (await after.list()).tenants.filter((t) => t.name === 'Newborn Inc');
      expect(born.map((t) => t.status)).toEqual(committed ? ['active'] : []);
      const admins = await after.master
        .collection('organization_admins')
        .find({ email: 'owner@newborn.test' })
        .toArray();
      expect(admins.map((a) => String(a.tenantId))).toEqual(committed ? [born[0]?.id] : []);
    },
  },
  ...[false, true].map(
    (renameStorage): Scenario => ({
      name: `rename (renameStorage: ${renameStorage})`,
      // A database per tenant and shared collections rename in the registry only.
      layouts: renameStorage ? ['collection'] : LAYOUTS,
      renameStorage,
      run: (t, w) => t.rename(w.victim.id, 'Renamed Corp'),
      decisive: isUpdate('rename'),
      async check(after, w, committed) {
        const key = committed && renameStorage ? 'renamed_corp' : 'victim_corp';
        await intact(after, w.victim.id, { name: committed ? 'Renamed Corp' : 'Victim Corp', key, status: 'active' });
        if (!renameStorage) expect((await after.get(w.victim.id))?.storage).toEqual(w.victim.storage);
      },
    }),
  ),
  {
    name: 'drop',
    layouts: LAYOUTS,
    renameStorage: false,
    run: (t, w) => t.drop(w.victim.id),
    decisive: isUpdate('drop'),
    async check(after, w, committed) {
      if (committed) {
        expect(await after.get(w.victim.id)).toBeNull();
        await gone(w, after, w.victim);
      } else await intact(after, w.victim.id, { status: 'active' });
    },
  },
  {
    name: 'suspend',
    layouts: LAYOUTS,
    renameStorage: false,
    run: (t, w) => t.suspend(w.victim.id),
    decisive: isUpdate('status'),
    async check(after, w, committed) {
      expect(await after.get(w.victim.id)).toMatchObject({ status: committed ? 'suspended' : 'active' });
    },
  },
  {
    name: 'resume',
    layouts: LAYOUTS,
    renameStorage: false,
    async prepare(w) {
      expect(await w.make().suspend(w.victim.id)).toMatchObject({ status: 'suspended' });
    },
    run: (t, w) => t.resume(w.victim.id),
    decisive: isUpdate('status'),
    async check(after, w, committed) {
      if (committed) await intact(after, w.victim.id, { status: 'active', name: 'Victim Corp' });
      else expect(await after.get(w.victim.id)).toMatchObject({ status: 'suspended', name: 'Victim Corp' });
    },
  },
  {
    name: 'purge',
    layouts: LAYOUTS,
    renameStorage: false,
    async prepare(w) {
      const tenants = w.make();
      const ghost = await tenants.create({ name: 'Ghost' });
      const stale = tenants.scope(ghost).collection('orders');
      await stale.insertOne({ o: 0 });
      await tenants.drop(ghost.id);
      // A handle taken before the drop writes after it: the database is re-created, or a shared document of a
      // tenant that is gone is written. The purge sweeps it. (A collection per tenant leaves a tombstone, which
      // refuses the write on MongoDB and not on FerretDB v1: not needed here, rename.test.ts covers it.)
      if (w.layout !== 'collection') await stale.insertOne({ o: 1 });
    },
    run: (t) => t.purgeTombstones({ olderThanMs: 0 }),
    decisive: (e) => e.op === 'purge' && e.call === 'take epoch', // once journaled, a purge is finished
    async check(after, w) {
      const keys = await after.master
        .collection('organization_keys')
        .find({ _id: 'ghost' as never })
        .toArray();
      expect(keys.map((k) => k.state)).toEqual(['purged']);
      const ghost = { ...w.victim, id: String(keys[0]?.tenantId), storage: keys[0]?.storage } as Tenant;
      await gone(w, after, ghost);
      expect(await after.master.listCollections({ name: { $regex: '^org_ghost' } }).toArray()).toEqual([]);
    },
  },
];

/** Every scenario under every layout it applies to. */
export const matrixCases: MatrixCase[] = LAYOUTS.flatMap((layout) =>
  scenarios
    .filter((scenario) => scenario.layouts.includes(layout))
    .map((scenario) => ({ name: `${layout}: ${scenario.name}`, layout, scenario })),
);

function strategyOf(layout: StorageKind, scenario: Scenario, databasePrefix: string | undefined): IsolationStrategy {
  if (layout === 'database') return databasePerTenant({ prefix: databasePrefix as string });
  if (layout === 'shared') return sharedCollections();
  return collectionPerTenant({ renameStorage: scenario.renameStorage });
}

/**
 * A master database with one seeded tenant of the case's layout (30
 * documents, and 12 in `orders`), and managers on it. Its tenant databases
 * (the database layout) have a prefix of their own.
 */
export async function seed(db: TestDatabases, { layout, scenario }: MatrixCase): Promise<World> {
  const masterDbName = db.dbName('crash');
  const databasePrefix = layout === 'database' ? db.dbPrefix() : undefined;
  const factory = managerFactory(db.client, () => masterDbName);
  const make = (options: Partial<TenantManagerOptions> = {}) =>
    factory({ strategy: strategyOf(layout, scenario, databasePrefix), leaseMs: LEASE_MS, ...options });
  const first = make();
  const victim = await first.create({ name: 'Victim Corp' });
  expect(victim.storage.strategy).toBe(layout);
  await first
    .scope(victim)
    .collection()
    .insertMany(Array.from({ length: VICTIM_DOCUMENTS }, (_, i) => ({ i })));
  await first
    .scope(victim)
    .collection('orders')
    .insertMany(Array.from({ length: VICTIM_ORDERS }, (_, i) => ({ o: i })));
  const world: World = { layout, client: db.client, victim, make, databasePrefix };
  await scenario.prepare?.(world);
  return world;
}

/** Drops what a world made (its master database and its tenant databases), once its run passed. */
async function clear(world: World): Promise<void> {
  const names = [world.make().master.databaseName];
  if (world.databasePrefix) {
    names.push(...(await databases(world.client)).filter((n) => n.startsWith(world.databasePrefix as string)));
  }
  for (const name of names) await world.client.db(name).dropDatabase();
}

/** A manager whose clock runs `leases` leases ahead, as a process starting that much later. */
export function later(world: World, leases: number, options: Partial<TenantManagerOptions> = {}): TenantManager {
  return world.make({ clock: () => new Date(Date.now() + leases * LEASE_MS), ...options });
}

/** The invariants, for this world's layout. */
export function checkInvariants(world: World, after: TenantManager, expected: { tenants?: number } = {}) {
  return assertInvariants(world.client, after, { ...expected, databasePrefix: world.databasePrefix });
}

/** The calls a clean run of the operation makes. */
export async function callsOf(db: TestDatabases, kase: MatrixCase): Promise<CallEvent[]> {
  const world = await seed(db, kase);
  const probe = dieAfterCall();
  await kase.scenario.run(world.make({ hooks: { afterCall: probe.afterCall } }), world);
  await clear(world);
  return probe.calls;
}

/** Whether stopping after call `n` (1-based) of `calls` leaves the operation committed. */
export function committedAfter(scenario: Scenario, calls: CallEvent[], n: number): boolean {
  if (!scenario.decisive) return true;
  const decisive = calls.findIndex(scenario.decisive);
  return decisive >= 0 && n >= decisive + 1;
}

/**
 * Stops the operation after its call `n`, then a recovery after its call `r`
 * (none when `r` is 0), then runs two healthy recoveries; asserts the
 * documented outcome and the invariants. Returns how many calls the first
 * recovery made (when it was not stopped).
 */
export async function crashAndRecover(
  db: TestDatabases,
  kase: MatrixCase,
  calls: CallEvent[],
  n: number,
  r = 0,
): Promise<number> {
  const world = await seed(db, kase);
  const death = dieAfterCall(n);
  void kase.scenario.run(world.make({ hooks: { afterCall: death.afterCall } }), world).catch(() => undefined);
  await death.reached;
  const recovering = dieAfterCall(r === 0 ? Number.POSITIVE_INFINITY : r);
  const first = later(world, 2, { hooks: { afterCall: recovering.afterCall } });
  await Promise.race([recovering.reached, first.recover()]);
  for (const leases of [4, 6]) {
    const report = await later(world, leases).recover();
    expect(report.failed).toEqual([]);
  }
  const after = world.make();
  await kase.scenario.check(after, world, committedAfter(kase.scenario, calls, n));
  await checkInvariants(world, after);
  await clear(world);
  return recovering.calls.length;
}

/**
 * Fails the operation's call `n` in-process (the call took effect, its
 * caller hears an error once): the manager settles it at once, as recovery
 * would. Asserts the documented outcome and the invariants.
 */
export async function failAndSettle(db: TestDatabases, kase: MatrixCase, calls: CallEvent[], n: number) {
  const world = await seed(db, kase);
  let seen = 0;
  const failing = world.make({
    hooks: {
      afterCall: () => {
        if (++seen === n) throw new Error(`injected failure after call ${n}`);
      },
    },
  });
  await kase.scenario.run(failing, world).catch(() => undefined);
  const after = world.make();
  await kase.scenario.check(after, world, committedAfter(kase.scenario, calls, n));
  await checkInvariants(world, after);
  await clear(world);
}
