import { describe, expect, it } from 'vitest';
import { collectionPerTenant, isTenancyError } from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { gate } from '../support/gate.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const newManager = managerFactory(client, dbName);

function codes(results: PromiseSettledResult<unknown>[]) {
  return results.map((r) => (r.status === 'fulfilled' ? 'ok' : isTenancyError(r.reason) ? r.reason.code : 'raw'));
}

describe('concurrency', () => {
  it('20 concurrent creates of one name: exactly one succeeds, the rest get TENANT_EXISTS', async () => {
    const tenants = newManager();
    await tenants.init();
    const spellings = ['Acme Corp', 'acme-corp', 'ACME CORP', 'acme  corp'];
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => tenants.create({ name: spellings[i % spellings.length] as string })),
    );
    const outcome = codes(results);
    expect(outcome.filter((c) => c === 'ok')).toHaveLength(1);
    expect(outcome.filter((c) => c === 'TENANT_EXISTS')).toHaveLength(19);
    expect((await tenants.list()).tenants).toHaveLength(1);
    await assertInvariants(client, tenants, { tenants: 1 });
  });

  it('concurrent creates of different names all succeed with distinct keys', async () => {
    const tenants = newManager();
    await tenants.init();
    const made = await Promise.all(Array.from({ length: 10 }, (_, i) => tenants.create({ name: `Team ${i}` })));
    expect(new Set(made.map((t) => t.key)).size).toBe(10);
    await assertInvariants(client, tenants, { tenants: 10 });
  });

  it.each([false, true])(
    'concurrent rename and drop of one tenant: one wins, the registry stays consistent (renameStorage %s)',
    async (renameStorage) => {
      const tenants = newManager({ strategy: collectionPerTenant({ renameStorage }) });
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
    },
  );

  it('two tenants renamed to one name at once: exactly one gets it', async () => {
    const tenants = newManager();
    const a = await tenants.create({ name: 'First' });
    const b = await tenants.create({ name: 'Second' });
    const outcome = codes(await Promise.allSettled([tenants.rename(a.id, 'Winner'), tenants.rename(b.id, 'winner')]));
    expect(outcome.sort()).toEqual(['TENANT_EXISTS', 'ok']);
    await assertInvariants(client, tenants, { tenants: 2 });
  });

  it('a second operation on a busy tenant gets CONFLICT while the lease is live', async () => {
    const held = gate();
    const tenants = newManager({
      hooks: { afterStep: (e) => (e.op === 'rename' && e.step === 'renamed' ? held.closed : undefined) },
    });
    const t = await tenants.create({ name: 'Busy' });
    const slow = tenants.rename(t.id, 'Busy Two');
    await new Promise((done) => setTimeout(done, 200));
    await expect(tenants.drop(t.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    held.open();
    expect(await slow).toMatchObject({ name: 'Busy Two' });
    expect(await tenants.drop(t.id)).toBe(true);
  });
});
