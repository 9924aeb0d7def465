/**
 * The crash matrix: every journaled operation, stopped after each database
 * call it makes (a process that dies there, or a call whose answer is lost),
 * then recovered, and the recovery itself stopped after each of its calls,
 * including every call of taking the lease over. Each scenario says what
 * outcome the documented finish-or-undo table (docs/architecture.md)
 * requires, given whether the stop came before or after the operation's
 * decisive call.
 */
import type { MongoClient } from 'mongodb';
import { expect } from 'vitest';
import {
  AuthService,
  bcryptHasher,
  type CallEvent,
  collectionPerTenant,
  type Tenant,
  type TenantManager,
  type TenantManagerOptions,
} from '../../src/index.js';
import { PASSWORD, strongSecret } from './auth.js';
import { managerFactory } from './context.js';
import { dieAfterCall } from './gate.js';
import { assertInvariants } from './invariants.js';

export const LEASE_MS = 5_000;

export interface World {
  readonly victim: Tenant;
  readonly make: (options?: Partial<TenantManagerOptions>) => TenantManager;
}

export interface Scenario {
  readonly name: string;
  readonly renameStorage: boolean;
  /** Prepares more than the seeded victim, before the operation. */
  readonly prepare?: (world: World) => Promise<void>;
  readonly run: (tenants: TenantManager, world: World) => Promise<unknown>;
  /** The call that commits the operation: stopped at or after it, it is finished; before, undone. */
  readonly decisive: ((event: CallEvent) => boolean) | null;
  /** Asserts the documented outcome. */
  readonly check: (after: TenantManager, world: World, committed: boolean) => Promise<void>;
}

const isUpdate = (op: CallEvent['op']) => (e: CallEvent) => e.op === op && e.call === 'update tenant';

async function intact(after: TenantManager, id: string, expected: Partial<Tenant>): Promise<void> {
  const tenant = await after.get(id);
  expect(tenant).toMatchObject(expected);
  const scope = after.scope(tenant as Tenant);
  expect(await scope.collection().countDocuments()).toBe(30);
  expect(await scope.collection('orders').countDocuments()).toBe(12);
}

export const scenarios: Scenario[] = [
  {
    name: 'create',
    renameStorage: false,
    run: (t) => t.create({ name: 'Newborn Inc' }),
    decisive: isUpdate('create'),
    async check(after, _w, committed) {
      const born = (await after.list()).tenants.filter((t) => t.name === 'Newborn Inc');
      expect(born.map((t) => t.status)).toEqual(committed ? ['active'] : []);
    },
  },
  {
    name: 'register (create with its first admin)',
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
      renameStorage,
      run: (t, w) => t.rename(w.victim.id, 'Renamed Corp'),
      decisive: isUpdate('rename'),
      async check(after, w, committed) {
        const key = committed && renameStorage ? 'renamed_corp' : 'victim_corp';
        await intact(after, w.victim.id, { name: committed ? 'Renamed Corp' : 'Victim Corp', key, status: 'active' });
      },
    }),
  ),
  {
    name: 'drop',
    renameStorage: false,
    run: (t, w) => t.drop(w.victim.id),
    decisive: isUpdate('drop'),
    async check(after, w, committed) {
      if (committed) expect(await after.get(w.victim.id)).toBeNull();
      else await intact(after, w.victim.id, { status: 'active' });
    },
  },
  {
    name: 'suspend',
    renameStorage: false,
    run: (t, w) => t.suspend(w.victim.id),
    decisive: isUpdate('status'),
    async check(after, w, committed) {
      expect(await after.get(w.victim.id)).toMatchObject({ status: committed ? 'suspended' : 'active' });
    },
  },
  {
    name: 'purge',
    renameStorage: false,
    async prepare(w) {
      await w.make().drop((await w.make().create({ name: 'Ghost' })).id);
    },
    run: (t) => t.purgeTombstones({ olderThanMs: 0 }),
    decisive: (e) => e.op === 'purge' && e.call === 'take epoch', // once journaled, a purge is finished
    async check(after) {
      const keys = await after.master
        .collection('organization_keys')
        .find({ _id: 'ghost' as never })
        .toArray();
      expect(keys.map((k) => k.state)).toEqual(['purged']);
      expect(await after.master.listCollections({ name: { $regex: '^org_ghost' } }).toArray()).toEqual([]);
    },
  },
];

/** A master database with one seeded tenant (30 documents, and 12 in `orders`), and managers on it. */
export async function seed(client: MongoClient, dbName: (label?: string) => string, scenario: Scenario) {
  const masterDbName = dbName('crash');
  const factory = managerFactory(client, () => masterDbName);
  const make = (options: Partial<TenantManagerOptions> = {}) =>
    factory({
      strategy: collectionPerTenant({ renameStorage: scenario.renameStorage }),
      leaseMs: LEASE_MS,
      ...options,
    });
  const first = make();
  const victim = await first.create({ name: 'Victim Corp' });
  await first
    .scope(victim)
    .collection()
    .insertMany(Array.from({ length: 30 }, (_, i) => ({ i })));
  await first
    .scope(victim)
    .collection('orders')
    .insertMany(Array.from({ length: 12 }, (_, i) => ({ o: i })));
  const world: World = { victim, make };
  await scenario.prepare?.(world);
  return world;
}

/** A manager whose clock runs `leases` leases ahead, as a process starting that much later. */
export function later(world: World, leases: number, options: Partial<TenantManagerOptions> = {}): TenantManager {
  return world.make({ clock: () => new Date(Date.now() + leases * LEASE_MS), ...options });
}

/** The calls a clean run of the operation makes. */
export async function callsOf(client: MongoClient, dbName: (l?: string) => string, scenario: Scenario) {
  const world = await seed(client, dbName, scenario);
  const probe = dieAfterCall();
  await scenario.run(world.make({ hooks: { afterCall: probe.afterCall } }), world);
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
  client: MongoClient,
  dbName: (l?: string) => string,
  scenario: Scenario,
  calls: CallEvent[],
  n: number,
  r = 0,
): Promise<number> {
  const world = await seed(client, dbName, scenario);
  const death = dieAfterCall(n);
  void scenario.run(world.make({ hooks: { afterCall: death.afterCall } }), world).catch(() => undefined);
  await death.reached;
  const recovering = dieAfterCall(r === 0 ? Number.POSITIVE_INFINITY : r);
  const first = later(world, 2, { hooks: { afterCall: recovering.afterCall } });
  await Promise.race([recovering.reached, first.recover()]);
  for (const leases of [4, 6]) {
    const report = await later(world, leases).recover();
    expect(report.failed).toEqual([]);
  }
  const after = world.make();
  await scenario.check(after, world, committedAfter(scenario, calls, n));
  await assertInvariants(client, after);
  return recovering.calls.length;
}
