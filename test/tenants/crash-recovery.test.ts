/**
 * Fault injection (see test/support/crash-matrix.ts): each operation stops
 * after each database call it makes, as a process that dies there or as a
 * call whose answer is lost; a recovery settles it, and in the second
 * dimension the recovery itself dies after each of its calls (taking the
 * lease over included) before two healthy recoveries run. Each run asserts
 * the documented outcome and the invariants.
 *
 * `npm test` runs every stop of every operation, and the recovery dimension
 * for three stops of each (before, at and after the decisive call);
 * `npm run test:matrix` (CI runs it too) runs every pair.
 */
import { describe, expect, it } from 'vitest';
import { useTestClient } from '../support/context.js';
import { callsOf, committedAfter, crashAndRecover, LEASE_MS, later, scenarios, seed } from '../support/crash-matrix.js';
import { dieAfterCall } from '../support/gate.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const FULL = process.env.MONGO_TENANCY_MATRIX === 'full';

/** The operation stops worth crossing with every stop of the recovery. */
function sampled(calls: number, decisive: number): number[] {
  if (FULL) return Array.from({ length: calls }, (_, i) => i + 1);
  // Stopped after the call before the decisive one (undone), after the decisive one (finished), and after the last.
  return [...new Set([decisive - 1, decisive, calls].filter((n) => n >= 1 && n <= calls))];
}

describe.each(scenarios)('$name', (scenario) => {
  it('is settled as documented after dying after any of its calls', async () => {
    const calls = await callsOf(client, dbName, scenario);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    const outcomes = new Set<boolean>();
    for (let n = 1; n <= calls.length; n++) {
      await crashAndRecover(client, dbName, scenario, calls, n);
      outcomes.add(committedAfter(scenario, calls, n));
    }
    // Both sides of the decisive call were exercised, unless it is the first.
    expect(outcomes.size).toBe(scenario.decisive && calls.findIndex(scenario.decisive) > 0 ? 2 : 1);
  }, 300_000);

  it('is settled as documented when the recovery dies after any of its calls', async () => {
    const calls = await callsOf(client, dbName, scenario);
    const decisive = calls.findIndex(scenario.decisive ?? (() => true)) + 1;
    let crossed = 0;
    for (const n of sampled(calls.length, decisive)) {
      // A stop after the last call (the operation ended) leaves nothing to recover.
      const recoveryCalls = await crashAndRecover(client, dbName, scenario, calls, n);
      for (let r = 1; r <= recoveryCalls; r++) await crashAndRecover(client, dbName, scenario, calls, n, r);
      crossed += recoveryCalls;
    }
    expect(crossed).toBeGreaterThan(0);
  }, 600_000);

  it('settles at once when a call fails in-process, as when its answer is lost', async () => {
    const calls = await callsOf(client, dbName, scenario);
    for (let n = 1; n <= calls.length; n++) {
      const world = await seed(client, dbName, scenario);
      let seen = 0; // a transient failure: the call took effect, but its caller hears an error once
      const failing = world.make({
        hooks: {
          afterCall: () => {
            if (++seen === n) throw new Error(`injected failure after call ${n}`);
          },
        },
      });
      await scenario.run(failing, world).catch(() => undefined);
      const after = world.make();
      await scenario.check(after, world, committedAfter(scenario, calls, n));
      await assertInvariants(client, after);
    }
  }, 300_000);
});

it('init() is idempotent and a second recover() finds nothing to do', async () => {
  const world = await seed(client, dbName, scenarios[0] as (typeof scenarios)[0]);
  const tenants = world.make();
  await Promise.all([tenants.init(), tenants.init()]);
  await tenants.init();
  expect(await tenants.recover()).toEqual({ operations: [], failed: [] });
});

it('two processes recovering one dead holder at once: exactly one settles it, the others say why not', async () => {
  const scenario = scenarios.find((s) => s.name === 'rename (renameStorage: true)') as (typeof scenarios)[0];
  const world = await seed(client, dbName, scenario);
  const calls = await callsOf(client, dbName, scenario);
  const death = dieAfterCall(calls.findIndex((c) => c.call === 'rename tenant collection') + 1);
  void world.make({ hooks: { afterCall: death.afterCall } }).rename(world.victim.id, 'Raced Corp');
  await death.reached;
  const reports = await Promise.all(Array.from({ length: 4 }, () => later(world, 2).recover()));
  expect(reports.flatMap((r) => r.operations)).toHaveLength(1);
  for (const failure of reports.flatMap((r) => r.failed)) expect(failure.error.code).toBe('CONFLICT');
  const after = world.make();
  expect(await after.get(world.victim.id)).toMatchObject({ name: 'Raced Corp', status: 'active' });
  await assertInvariants(client, after, { tenants: 1 });
});

it('a takeover claim whose claimant died is taken back once it is older than a lease', async () => {
  const scenario = scenarios.find((s) => s.name === 'drop') as (typeof scenarios)[0];
  const world = await seed(client, dbName, scenario);
  const death = dieAfterCall(3);
  void world.make({ hooks: { afterCall: death.afterCall } }).drop(world.victim.id);
  await death.reached;
  // A recoverer dies right after inserting its takeover claim (its first call).
  const claimant = dieAfterCall(1);
  void later(world, 2, { hooks: { afterCall: claimant.afterCall } }).recover();
  await claimant.reached;
  expect(claimant.calls[0]).toMatchObject({ step: 'takeover', call: 'claim takeover' });
  // While the claim is fresh, others leave the entry to its claimant and say so...
  const fresh = await later(world, 2.5).recover();
  expect(fresh.failed.map((f) => f.error.code)).toEqual(['CONFLICT']);
  await expect(later(world, 2.5).drop(world.victim.id)).rejects.toMatchObject({ code: 'CONFLICT' });
  // ...and once it is older than a lease, the next recovery takes over from the dead claimant.
  const report = await later(world, 3 + LEASE_MS / LEASE_MS).recover();
  expect(report.operations).toMatchObject([{ op: 'drop', outcome: 'rolled-forward' }]);
  await assertInvariants(client, world.make(), { tenants: 0 });
});
