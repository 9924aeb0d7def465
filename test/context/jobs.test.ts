/**
 * Work outside a request: withTenant re-resolves a captured tenant and refuses one that is gone or suspended;
 * forEachTenant runs every active tenant in its context, bounded, one failure not stopping the others.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { tenantQueue } from '../../examples/jobs/worker.js';
import {
  captureTenant,
  currentTenant,
  forEachTenant,
  runWithTenant,
  type Tenant,
  withTenant,
} from '../../src/index.js';
import { codeOf } from '../support/codes.js';
import { managerFactory, useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const newManager = managerFactory(client, dbName);

describe('withTenant', () => {
  it('runs a job captured in one tenant\u2019s context inside that tenant, as it is now (renamed since)', async () => {
    const tenants = newManager();
    const acme = await tenants.create({ name: 'Acme' });
    const payload = JSON.parse(JSON.stringify(runWithTenant(acme, () => ({ tenant: captureTenant(), n: 1 }))));
    await tenants.rename(acme.id, 'Acme Industries');
    const seen = await withTenant(tenants, payload.tenant, async (tenant) => {
      await tenants.scope().collection('jobs').insertOne({ n: payload.n });
      return [tenant.name, currentTenant()?.id];
    });
    expect(seen).toEqual(['Acme Industries', acme.id]);
    expect(await tenants.scope(acme).collection('jobs').countDocuments()).toBe(1);
    expect(currentTenant()).toBeUndefined();
  });

  it('refuses a dropped tenant with TENANT_NOT_FOUND and a suspended one with TENANT_UNAVAILABLE, never running fn', async () => {
    const tenants = newManager();
    const [gone, paused] = [await tenants.create({ name: 'Gone' }), await tenants.create({ name: 'Paused' })];
    const captured = [gone, paused].map((t) => runWithTenant(t, captureTenant));
    await tenants.drop(gone.id);
    await tenants.suspend(paused.id);
    let ran = 0;
    const job = () => void ran++;
    expect(await codeOf(withTenant(tenants, captured[0] as never, job))).toBe('TENANT_NOT_FOUND');
    expect(await codeOf(withTenant(tenants, captured[1] as never, job))).toBe('TENANT_UNAVAILABLE');
    expect(await codeOf(withTenant(tenants, { id: 'not an id' }, job))).toBe('INVALID_INPUT');
    expect(ran).toBe(0);
    await tenants.resume(paused.id);
    await withTenant(tenants, captured[1] as never, job);
    expect(ran).toBe(1);
  });
});

describe('forEachTenant', () => {
  async function registry(count: number) {
    const tenants = newManager();
    const all: Tenant[] = [];
    for (let i = 0; i < count; i++) all.push(await tenants.create({ name: `Tenant ${i}` }));
    return { tenants, all };
  }

  it('runs every active tenant in its own context, at most `concurrency` at once, reporting progress', async () => {
    const { tenants, all } = await registry(12);
    await tenants.suspend((all[3] as Tenant).id);
    let running = 0;
    let most = 0;
    const ran: string[] = [];
    const progress: number[] = [];
    const report = await forEachTenant(
      tenants,
      { concurrency: 3, onProgress: (p) => progress.push(p.completed + p.failed) },
      async (tenant) => {
        most = Math.max(most, ++running);
        await sleep(5);
        expect(currentTenant()?.id).toBe(tenant.id);
        await tenants.scope().collection('visits').insertOne({ at: 1 });
        ran.push(tenant.id);
        running--;
      },
    );
    expect(report).toMatchObject({ completed: 11, failed: 0, skipped: 1, aborted: false, failures: [] });
    expect(most).toBe(3);
    expect(ran.sort()).toEqual(
      all
        .filter((_, i) => i !== 3)
        .map((t) => t.id)
        .sort(),
    );
    expect(progress).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    for (const [i, tenant] of all.entries()) {
      if (i === 3) continue;
      expect(await tenants.scope(tenant).collection('visits').countDocuments()).toBe(1);
    }
  });

  it('one tenant\u2019s failure is reported and the others still run; filter skips; an aborted signal stops starting more', async () => {
    const { tenants, all } = await registry(6);
    const failing = all[1] as Tenant;
    const report = await forEachTenant(
      tenants,
      { concurrency: 2, filter: (t) => t.id !== (all[5] as Tenant).id },
      async (tenant) => {
        if (tenant.id === failing.id) throw new Error('boom');
      },
    );
    expect(report).toMatchObject({ completed: 4, failed: 1, skipped: 1, aborted: false });
    expect(report.failures.map((f) => [f.tenant.id, (f.error as Error).message])).toEqual([[failing.id, 'boom']]);

    const controller = new AbortController();
    let started = 0;
    const stopped = await forEachTenant(tenants, { concurrency: 1, signal: controller.signal }, async () => {
      if (++started === 2) controller.abort();
    });
    expect(stopped).toMatchObject({ completed: 2, aborted: true });
    expect(started).toBe(2);
  });

  it('refuses invalid options with INVALID_OPTIONS, running nothing', async () => {
    const { tenants } = await registry(1);
    let ran = 0;
    for (const options of [{ concurrency: 0 }, { concurrency: 1.5 }, { concurrency: 65 }, { filter: 'x' }, { x: 1 }]) {
      expect(await codeOf(forEachTenant(tenants, options as never, () => void ran++))).toBe('INVALID_OPTIONS');
    }
    expect(ran).toBe(0);
  });
});

describe('the queue worker example (examples/jobs/worker.ts)', () => {
  it('a worker alternating between tenants reads each job\u2019s own tenant; a job for a dropped tenant is TENANT_NOT_FOUND', async () => {
    const tenants = newManager();
    const [acme, globex] = [await tenants.create({ name: 'Acme' }), await tenants.create({ name: 'Globex' })];
    for (const tenant of [acme, globex]) {
      await tenants.scope(tenant).collection('profile').insertOne({ owner: tenant.id });
    }
    const seen: Array<[string, unknown]> = [];
    const queue = tenantQueue<{ n: number; expected: string }>(tenants, async ({ n, expected }) => {
      const profile = await tenants.scope().collection('profile').findOne({});
      seen.push([expected, profile?.owner]);
      await tenants.scope().collection('done').insertOne({ n });
    });
    expect(() => queue.enqueue({ n: -1, expected: 'none' })).toThrow(
      expect.objectContaining({ code: 'NO_TENANT_CONTEXT' }),
    );
    for (let n = 0; n < 40; n++) {
      const tenant = n % 2 === 0 ? acme : globex;
      runWithTenant(tenant, () => queue.enqueue({ n, expected: tenant.id }));
    }
    const outcomes = await queue.drain();
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(seen).toHaveLength(40);
    expect(seen.filter(([expected, owner]) => expected !== owner)).toEqual([]);
    expect(await tenants.scope(acme).collection('done').countDocuments()).toBe(20);
    expect(await tenants.scope(globex).collection('done').countDocuments()).toBe(20);

    runWithTenant(globex, () => queue.enqueue({ n: 99, expected: globex.id }));
    runWithTenant(acme, () => queue.enqueue({ n: 100, expected: acme.id }));
    await tenants.drop(globex.id);
    expect(await queue.drain()).toEqual([{ ok: false, code: 'TENANT_NOT_FOUND' }, { ok: true }]);
    expect(seen).toHaveLength(41); // the dropped tenant's job never ran
  });
});
