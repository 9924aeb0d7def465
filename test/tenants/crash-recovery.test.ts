/**
 * Fault injection (see test/support/crash-matrix.ts), under each layout:
 * each operation stops after each database call it makes, as a process that
 * dies there or as a call whose answer is lost; a recovery settles it, and in
 * the second dimension the recovery itself dies after each of its calls
 * (taking the lease over included) before two healthy recoveries run. Each
 * run asserts the documented outcome and the invariants of its layout.
 *
 * `npm run test:matrix` (CI runs it too) runs every stop and every pair, under
 * every layout. `npm test` runs a sample (see `stops` below): every stop of
 * every operation under a collection per tenant, and the recovery dimension
 * for three stops of each (before, at and after the decisive call); under the
 * other layouts, those three stops and two more that vary from case to case
 * and between the death modes, and the recovery dimension for half the
 * recovery's stops after the one of the three whose recovery makes the most
 * calls.
 */
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/index.js';
import { useTestClient } from '../support/context.js';
import {
  callsOf,
  checkInvariants,
  committedAfter,
  crashAndRecover,
  failAndSettle,
  LAYOUTS,
  LEASE_MS,
  later,
  type MatrixCase,
  matrixCases,
  scenarios,
  seed,
} from '../support/crash-matrix.js';
import { dieAfterCall } from '../support/gate.js';

const testClient = useTestClient();
const FULL = process.env.MONGO_TENANCY_MATRIX === 'full';

type Dimension = 'dies' | 'fails' | 'recovery';

const all = (calls: number) => Array.from({ length: calls }, (_, i) => i + 1);

/**
 * The stops of the operation a test runs: every one in the full matrix, a
 * deterministic sample in `npm test`. The sample keeps the boundary stops: the
 * last before the decisive call (undone), the decisive one (finished) and the
 * last. Under a collection per tenant it keeps every stop in both death modes.
 * Under the other layouts it adds two more stops per death mode, picked by the
 * case's place in the matrix and the mode, so that they differ from case to
 * case and between the two modes (the full matrix runs them all).
 * The recovery dimension (every stop of the recovery crossed with these)
 * recovers after the three boundary stops, and crosses all three under a
 * collection per tenant; under the other layouts, the one whose recovery
 * makes the most calls (the undo of a create, the rest of a drop: where the
 * layout's own storage calls are), with half of the recovery's stops (see
 * `recoveryStops`).
 */
function stops(kase: MatrixCase, dimension: Dimension, calls: CallEvent[]): number[] {
  if (FULL) return all(calls.length);
  const decisive = kase.scenario.decisive ? calls.findIndex(kase.scenario.decisive) + 1 : 1;
  const boundaries = [decisive - 1, decisive, calls.length].filter((n) => n >= 1 && n <= calls.length);
  let chosen = boundaries;
  if (dimension !== 'recovery' && kase.layout === 'collection') chosen = all(calls.length);
  else if (dimension !== 'recovery') {
    const others = all(calls.length).filter((n) => !boundaries.includes(n));
    const turn = matrixCases.findIndex((c) => c.name === kase.name) * 2 + Number(dimension === 'fails');
    const half = Math.floor(others.length / 2);
    chosen = [
      ...boundaries,
      ...[turn, turn + half].flatMap((i) => (others.length ? [others[i % others.length] as number] : [])),
    ];
  }
  return [...new Set(chosen)].sort((a, b) => a - b);
}

/**
 * The recovery's stops crossed in `npm test` under the layouts other than a
 * collection per tenant: the first three (taking the lease over), then every
 * other one, odd or even by the case's place in the matrix.
 */
function recoveryStops(kase: MatrixCase, made: number): number[] {
  const parity = matrixCases.findIndex((c) => c.name === kase.name) % 2;
  return all(made).filter((r) => r <= 3 || r % 2 === parity);
}

/** What each test ran, by layout, printed once the matrix ends: the counts the documentation quotes. */
const tally = new Map<string, number>();
function count(kase: MatrixCase, what: string, n: number): void {
  for (const key of [`${kase.layout} ${what}`, `all ${what}`]) tally.set(key, (tally.get(key) ?? 0) + n);
}

describe.each(matrixCases)('$name', (kase) => {
  it('is settled as documented after dying after any of its calls', async () => {
    const calls = await callsOf(testClient, kase);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    const chosen = stops(kase, 'dies', calls);
    const outcomes = new Set<boolean>();
    for (const n of chosen) {
      await crashAndRecover(testClient, kase, calls, n);
      outcomes.add(committedAfter(kase.scenario, calls, n));
    }
    count(kase, 'cases', 1);
    count(kase, 'stop points', calls.length);
    count(kase, 'stops (dies)', chosen.length);
    // Both sides of the decisive call were exercised, unless it is the first.
    expect(outcomes.size).toBe(kase.scenario.decisive && calls.findIndex(kase.scenario.decisive) > 0 ? 2 : 1);
  }, 600_000);

  it('is settled as documented when the recovery dies after any of its calls', async () => {
    const calls = await callsOf(testClient, kase);
    const recoveryCalls = new Map<number, number>();
    // A stop after the last call (the operation ended) leaves nothing to recover.
    for (const n of stops(kase, 'recovery', calls))
      recoveryCalls.set(n, await crashAndRecover(testClient, kase, calls, n));
    const most = [...recoveryCalls].reduce((a, b) => (b[1] > a[1] ? b : a));
    const every = FULL || kase.layout === 'collection';
    const chosen = every ? [...recoveryCalls] : [most];
    let crossed = 0;
    for (const [n, made] of chosen) {
      for (const r of every ? all(made) : recoveryStops(kase, made)) {
        await crashAndRecover(testClient, kase, calls, n, r);
        crossed += 1;
      }
    }
    count(kase, 'stops crossed with the recovery', chosen.length);
    count(kase, 'pairs (operation stop x recovery stop)', crossed);
    expect(crossed).toBeGreaterThan(0);
  }, 1_200_000);

  it('settles at once when a call fails in-process, as when its answer is lost', async () => {
    const calls = await callsOf(testClient, kase);
    const chosen = stops(kase, 'fails', calls);
    for (const n of chosen) await failAndSettle(testClient, kase, calls, n);
    count(kase, 'stops (fails)', chosen.length);
  }, 600_000);
});

describe('the sample', () => {
  it('keeps the boundary stops in both death modes, and varies the others between cases and modes', async () => {
    expect(new Set(matrixCases.map((c) => c.layout))).toEqual(new Set(LAYOUTS));
    expect(matrixCases.filter((c) => c.scenario.renameStorage).map((c) => c.layout)).toEqual(['collection']);
    expect(matrixCases).toHaveLength(scenarios.length * LAYOUTS.length - 2); // renameStorage: collection only
    // Both status changes are journaled operations of their own, each in the matrix under every layout.
    for (const name of ['suspend', 'resume'])
      expect(matrixCases.filter((c) => c.scenario.name === name).map((c) => c.layout)).toEqual([...LAYOUTS]);
    const calls = Array.from({ length: 13 }, (_, i) => ({ call: i === 5 ? 'decisive' : 'other' }) as CallEvent);
    const picked = new Set<string>();
    for (const kase of matrixCases) {
      const at = { ...kase, scenario: { ...kase.scenario, decisive: (e: CallEvent) => e.call === 'decisive' } };
      const [dies, fails] = (['dies', 'fails'] as const).map((d) => stops(at, d, calls));
      for (const sample of [dies, fails]) {
        expect(sample).toEqual(expect.arrayContaining([5, 6, 13])); // before, at and after the decisive call (6th)
        if (FULL || kase.layout === 'collection') expect(sample).toEqual(all(13));
        else expect(sample).toHaveLength(5);
      }
      if (!FULL && kase.layout !== 'collection') {
        expect(dies).not.toEqual(fails);
        picked.add(JSON.stringify(dies));
      }
    }
    if (!FULL) expect(picked.size).toBeGreaterThan(1);
    console.log(
      `crash matrix (${FULL ? 'full' : 'sampled'}):\n${[...tally].map(([k, n]) => `  ${k}: ${n}`).join('\n')}`,
    );
  });
});

const named = (name: string, layout = 'collection') =>
  matrixCases.find((c) => c.scenario.name === name && c.layout === layout) as MatrixCase;

it('init() is idempotent and a second recover() finds nothing to do', async () => {
  const world = await seed(testClient, named('create'));
  const tenants = world.make();
  await Promise.all([tenants.init(), tenants.init()]);
  await tenants.init();
  expect(await tenants.recover()).toEqual({ operations: [], failed: [] });
});

it('two processes recovering one dead holder at once: exactly one settles it, the others say why not', async () => {
  const kase = named('rename (renameStorage: true)');
  const world = await seed(testClient, kase);
  const calls = await callsOf(testClient, kase);
  const death = dieAfterCall(calls.findIndex((c) => c.call === 'rename tenant collection') + 1);
  void world.make({ hooks: { afterCall: death.afterCall } }).rename(world.victim.id, 'Raced Corp');
  await death.reached;
  const reports = await Promise.all(Array.from({ length: 4 }, () => later(world, 2).recover()));
  expect(reports.flatMap((r) => r.operations)).toHaveLength(1);
  for (const failure of reports.flatMap((r) => r.failed)) expect(failure.error.code).toBe('CONFLICT');
  const after = world.make();
  expect(await after.get(world.victim.id)).toMatchObject({ name: 'Raced Corp', status: 'active' });
  await checkInvariants(world, after, { tenants: 1 });
});

describe.each(LAYOUTS)('the %s layout', (layout) => {
  it('a takeover claim whose claimant died is taken back once it is older than a lease', async () => {
    const world = await seed(testClient, named('drop', layout));
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
    await checkInvariants(world, world.make(), { tenants: 0 });
  });
});
