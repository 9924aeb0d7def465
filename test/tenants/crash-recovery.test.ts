/**
 * Fault injection: an operation stops after each of its journaled steps,
 * either because its process dies there (the step hook never returns, so
 * nothing after it runs, as after a SIGKILL) or because the step fails (the
 * hook throws). A new manager, whose clock is past the dead holder's lease,
 * runs init(); then the invariants must hold and no document may be lost.
 */
import { describe, expect, it } from 'vitest';
import { collectionPerTenant, type Tenant, type TenantManager, type TenantManagerOptions } from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { dieAt } from '../support/gate.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const LEASE_MS = 5_000;

type Op = 'create' | 'rename' | 'drop';
interface Scenario {
  op: Op;
  renameStorage: boolean;
}

const scenarios: Scenario[] = [
  { op: 'create', renameStorage: false },
  { op: 'rename', renameStorage: false },
  { op: 'rename', renameStorage: true },
  { op: 'drop', renameStorage: false },
];

/** A master database with one seeded tenant, and managers on it. */
function setup(renameStorage: boolean) {
  const masterDbName = dbName('crash');
  const make = (options: Partial<TenantManagerOptions> = {}) =>
    managerFactory(
      client,
      () => masterDbName,
    )({
      strategy: collectionPerTenant({ renameStorage }),
      leaseMs: LEASE_MS,
      ...options,
    });
  return { make };
}

async function seedTenant(tenants: TenantManager): Promise<Tenant> {
  const t = await tenants.create({ name: 'Victim Corp' });
  await tenants
    .scope(t)
    .collection()
    .insertMany(Array.from({ length: 30 }, (_, i) => ({ i })));
  await tenants
    .scope(t)
    .collection('orders')
    .insertMany(Array.from({ length: 12 }, (_, i) => ({ o: i })));
  return t;
}

function run(tenants: TenantManager, op: Op, victim: Tenant | undefined): Promise<unknown> {
  if (op === 'create') return tenants.create({ name: 'Newborn Inc' });
  if (op === 'rename') return tenants.rename((victim as Tenant).id, 'Renamed Corp');
  return tenants.drop((victim as Tenant).id);
}

async function stepsOf({ op, renameStorage }: Scenario): Promise<string[]> {
  const steps: string[] = [];
  const { make } = setup(renameStorage);
  const victim = await seedTenant(make());
  await run(make({ hooks: { afterStep: (e) => void (e.op === op && steps.push(e.step)) } }), op, victim);
  return steps;
}

async function assertOutcome(after: TenantManager, scenario: Scenario, victim: Tenant) {
  const list = (await after.list()).tenants;
  if (scenario.op === 'create') {
    const born = list.filter((t) => t.name === 'Newborn Inc');
    expect(born.length).toBeLessThanOrEqual(1);
    await assertInvariants(client, after, { tenants: 1 + born.length });
    return;
  }
  const survivor = list.find((t) => t.id === victim.id);
  if (scenario.op === 'drop' && !survivor) {
    await assertInvariants(client, after, { tenants: 0 });
    return;
  }
  expect(survivor).toBeDefined();
  const scope = after.scope(survivor as Tenant);
  expect(await scope.collection().countDocuments()).toBe(30);
  expect(await scope.collection('orders').countDocuments()).toBe(12);
  await assertInvariants(client, after, { tenants: 1 });
}

describe.each(scenarios)('$op (renameStorage: $renameStorage) interrupted after each step', (scenario) => {
  it('recovers from a process dying after every step', async () => {
    const steps = await stepsOf(scenario);
    expect(steps.length).toBeGreaterThanOrEqual(scenario.op === 'rename' && !scenario.renameStorage ? 3 : 5);
    for (const stop of steps) {
      const { make } = setup(scenario.renameStorage);
      const victim = await seedTenant(make());
      const death = dieAt(stop, scenario.op);
      void run(make({ hooks: { afterStep: death.afterStep } }), scenario.op, victim);
      await death.reached;

      // While the dead holder's lease is live, others get CONFLICT on that tenant (while it is registered).
      if (scenario.op !== 'create' && (await make().get(victim.id))) {
        await expect(make().drop(victim.id)).rejects.toMatchObject({ code: 'CONFLICT' });
      }
      const later = new Date(Date.now() + 2 * LEASE_MS);
      const after = make({ clock: () => later });
      await after.init();
      await assertOutcome(after, scenario, victim);
    }
  });

  it('settles at once when a step fails in-process', async () => {
    const steps = await stepsOf(scenario);
    for (const stop of steps) {
      const { make } = setup(scenario.renameStorage);
      const victim = await seedTenant(make());
      let failed = false; // a transient failure: the step fails once
      const failing = make({
        hooks: {
          afterStep: (e) => {
            if (failed || e.op !== scenario.op || e.step !== stop) return;
            failed = true;
            throw new Error(`injected failure after ${stop}`);
          },
        },
      });
      await run(failing, scenario.op, victim).catch(() => undefined);
      await assertOutcome(make(), scenario, victim);
    }
  });
});

it('init() is idempotent and a second recover() finds nothing to do', async () => {
  const { make } = setup(false);
  const tenants = make();
  await Promise.all([tenants.init(), tenants.init()]);
  await tenants.init();
  expect(await tenants.recover()).toEqual({ operations: [], failed: [] });
});

it('two processes recovering one dead holder at once: exactly one settles it', async () => {
  const { make } = setup(true);
  const victim = await seedTenant(make());
  const death = dieAt('inventoried');
  void make({ hooks: { afterStep: death.afterStep } }).rename(victim.id, 'Raced Corp');
  await death.reached;
  const later = new Date(Date.now() + 2 * LEASE_MS);
  const reports = await Promise.all(Array.from({ length: 4 }, () => make({ clock: () => later }).recover()));
  expect(reports.flatMap((r) => r.operations)).toHaveLength(1);
  expect(reports.flatMap((r) => r.failed)).toEqual([]);
  const after = make();
  expect(await after.get(victim.id)).toMatchObject({ name: 'Raced Corp', status: 'active' });
  await assertInvariants(client, after, { tenants: 1 });
});
