/**
 * Concurrent operations under each layout: creates racing for one name,
 * a rename racing a drop, renames racing for one name, leases; and the race
 * of a rename that moves storage against a drop, under a collection per
 * tenant.
 */
import { describe, expect, it } from 'vitest';
import { collectionPerTenant, type IsolationStrategy, isTenancyError } from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { gate } from '../support/gate.js';
import { assertInvariants } from '../support/invariants.js';
import { layoutCases } from '../support/layouts.js';

const testClient = useTestClient();
const { client, dbName } = testClient;
const newManager = managerFactory(client, dbName);

function codes(results: PromiseSettledResult<unknown>[]) {
  return results.map((r) => (r.status === 'fulfilled' ? 'ok' : isTenancyError(r.reason) ? r.reason.code : 'raw'));
}

/** A rename and a drop of one tenant at once: one wins, and the registry and the storage stay consistent. */
async function renameAgainstDrop(strategy: IsolationStrategy): Promise<void> {
  const tenants = newManager({ strategy });
  const t = await tenants.create({ name: 'Contested' });
  await tenants
    .scope(t)
    .collection()
    .insertMany([{ a: 1 }, { a: 2 }]);
  const [renamed, dropped] = await Promise.allSettled([tenants.rename(t.id, 'Renamed'), tenants.drop(t.id)]);
  const outcome = codes([renamed, dropped]);
  expect(outcome).not.toContain('raw');
  const after = await tenants.get(t.id);
  if (dropped.status === 'fulfilled' && dropped.value === true) {
    expect(after).toBeNull();
    expect(
      await tenants
        .scope(t)
        .collection()
        .countDocuments({ a: { $exists: true } }),
    ).toBe(0);
    await assertInvariants(client, tenants, { tenants: 0 });
  } else {
    expect(outcome[1]).toBe('CONFLICT');
    expect(after).toMatchObject({ name: 'Renamed', status: 'active' });
    expect(
      await tenants
        .scope(after as never)
        .collection()
        .countDocuments(),
    ).toBe(2);
    await assertInvariants(client, tenants, { tenants: 1 });
  }
}

describe.each(layoutCases(testClient))('concurrency, the $kind layout', ({ kind, strategy }) => {
  it('20 concurrent creates of one name: exactly one succeeds, the rest get TENANT_EXISTS', async () => {
    const tenants = newManager({ strategy: strategy() });
    await tenants.init();
    const spellings = ['Acme Corp', 'acme-corp', 'ACME CORP', 'acme  corp'];
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => tenants.create({ name: spellings[i % spellings.length] as string })),
    );
    const outcome = codes(results);
    expect(outcome.filter((c) => c === 'ok')).toHaveLength(1);
    expect(outcome.filter((c) => c === 'TENANT_EXISTS')).toHaveLength(19);
    const { tenants: listed } = await tenants.list();
    expect(listed.map((t) => t.storage.strategy)).toEqual([kind]);
    await assertInvariants(client, tenants, { tenants: 1 });
  });

  it('concurrent creates of different names all succeed with distinct keys and storage', async () => {
    const tenants = newManager({ strategy: strategy() });
    await tenants.init();
    const made = await Promise.all(Array.from({ length: 10 }, (_, i) => tenants.create({ name: `Team ${i}` })));
    expect(new Set(made.map((t) => t.key)).size).toBe(10);
    expect(new Set(made.map((t) => JSON.stringify(t.storage))).size).toBe(10);
    await Promise.all(made.map((t, i) => tenants.scope(t).collection().insertOne({ team: i })));
    for (const [i, t] of made.entries()) {
      expect(
        await tenants
          .scope(t)
          .collection()
          .find({}, { projection: { _id: 0, team: 1 } })
          .toArray(),
      ).toEqual([{ team: i }]);
    }
    await assertInvariants(client, tenants, { tenants: 10 });
  });

  it('concurrent rename and drop of one tenant: one wins, the registry stays consistent', async () => {
    await renameAgainstDrop(strategy());
  });

  it('two tenants renamed to one name at once: exactly one gets it', async () => {
    const tenants = newManager({ strategy: strategy() });
    const a = await tenants.create({ name: 'First' });
    const b = await tenants.create({ name: 'Second' });
    const outcome = codes(await Promise.allSettled([tenants.rename(a.id, 'Winner'), tenants.rename(b.id, 'winner')]));
    expect(outcome.sort()).toEqual(['TENANT_EXISTS', 'ok']);
    await assertInvariants(client, tenants, { tenants: 2 });
  });

  it('a second operation on a busy tenant gets CONFLICT while the lease is live', async () => {
    const held = gate();
    const tenants = newManager({
      strategy: strategy(),
      hooks: { afterStep: (e) => (e.op === 'rename' && e.step === 'renamed' ? held.closed : undefined) },
    });
    const t = await tenants.create({ name: 'Busy' });
    const slow = tenants.rename(t.id, 'Busy Two');
    await new Promise((done) => setTimeout(done, 200));
    await expect(tenants.drop(t.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    held.open();
    expect(await slow).toMatchObject({ name: 'Busy Two' });
    expect(await tenants.drop(t.id)).toBe(true);
    await assertInvariants(client, tenants, { tenants: 0 });
  });
});

describe('concurrency, a collection per tenant whose storage follows the name', () => {
  it('concurrent rename (moving the storage) and drop of one tenant: one wins, the registry stays consistent', async () => {
    await renameAgainstDrop(collectionPerTenant({ renameStorage: true }));
  });
});
