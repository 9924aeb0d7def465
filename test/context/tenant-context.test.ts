/**
 * The ambient tenant context: runWithTenant, currentTenant, requireTenant, captureTenant and scope() without an
 * argument, and 10,000 interleaved requests over 50 tenants that never see another tenant.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  captureTenant,
  currentTenant,
  requireTenant,
  runWithTenant,
  sharedCollections,
  type Tenant,
  type TenantManager,
} from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const newManager = managerFactory(client, dbName);

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'returned';
};

describe('runWithTenant, currentTenant, requireTenant, captureTenant', () => {
  let tenants: TenantManager;
  let acme: Tenant;
  let globex: Tenant;
  beforeAll(async () => {
    tenants = newManager();
    [acme, globex] = [await tenants.create({ name: 'Acme' }), await tenants.create({ name: 'Globex' })];
  });

  it('outside any context: currentTenant is undefined, requireTenant and captureTenant throw NO_TENANT_CONTEXT', () => {
    expect(currentTenant()).toBeUndefined();
    expect(codeOf(requireTenant)).toBe('NO_TENANT_CONTEXT');
    expect(codeOf(captureTenant)).toBe('NO_TENANT_CONTEXT');
  });

  it('inside: the tenant, through awaits and timers; contexts nest, and the outer one comes back', async () => {
    const seen = await runWithTenant(acme, async () => {
      const before = currentTenant()?.id;
      await sleep(2);
      const inner = await runWithTenant(globex, async () => {
        await sleep(1);
        return requireTenant().id;
      });
      return [before, inner, currentTenant()?.id, captureTenant()];
    });
    expect(seen).toEqual([acme.id, globex.id, acme.id, { id: acme.id }]);
    expect(currentTenant()).toBeUndefined();
  });

  it('refuses what is not a tenant record with INVALID_INPUT, without running fn', () => {
    let ran = false;
    for (const bad of [undefined, null, { id: acme.id }, 'acme']) {
      expect(codeOf(() => runWithTenant(bad as never, () => (ran = true)))).toBe('INVALID_INPUT');
    }
    expect(ran).toBe(false);
  });

  it('scope() without an argument is the current tenant; outside a context it throws NO_TENANT_CONTEXT', async () => {
    await runWithTenant(acme, () => tenants.scope().collection('orders').insertOne({ n: 1 }));
    expect(await tenants.scope(acme).collection('orders').countDocuments()).toBe(1);
    expect(await tenants.scope(globex).collection('orders').countDocuments()).toBe(0);
    expect(codeOf(() => tenants.scope())).toBe('NO_TENANT_CONTEXT');
    // Passing undefined is not leaving the argument out: it never falls back to the context.
    expect(codeOf(() => runWithTenant(acme, () => tenants.scope(undefined as never)))).toBe('TENANT_UNAVAILABLE');
  });
});

describe('10,000 interleaved requests over 50 tenants', () => {
  it('never see another tenant, through awaits, timers, immediates, event and stream callbacks', async () => {
    const tenants = newManager({ strategy: sharedCollections() });
    const all: Tenant[] = [];
    for (let i = 0; i < 50; i++) all.push(await tenants.create({ name: `Tenant ${i}` }));
    let checks = 0;
    const wrong: string[] = [];
    const check = (expected: Tenant, where: string) => {
      checks++;
      if (currentTenant()?.id !== expected.id) wrong.push(`${where}: ${currentTenant()?.id} for ${expected.id}`);
    };
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const request = (i: number) => {
      const tenant = all[i % all.length] as Tenant;
      return runWithTenant(tenant, async () => {
        check(tenant, 'start');
        await sleep(Math.floor(random() * 3));
        check(tenant, 'timer');
        await new Promise<void>((done) => setImmediate(done));
        check(tenant, 'immediate');
        const emitter = new EventEmitter();
        const emitted = new Promise<void>((done) =>
          emitter.once('ready', () => {
            check(tenant, 'event');
            done();
          }),
        );
        setTimeout(() => emitter.emit('ready'), Math.floor(random() * 2));
        await emitted;
        for await (const _ of Readable.from([1, 2])) check(tenant, 'stream');
        if (i % 1_000 < 50) await tenants.scope().collection('requests').insertOne({ request: i }); // real writes
        check(tenant, 'end');
      });
    };
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => request(i)));
    expect(wrong).toEqual([]);
    expect(checks).toBe(10_000 * 7);
    // 500 real writes through scope(): each tenant holds exactly its own 10 (requests n, n + 1,000, ...).
    for (const [n, tenant] of all.entries()) {
      const requests = await tenants.scope(tenant).collection('requests').find().toArray();
      expect(requests.map((r) => r.request).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 10 }, (_, j) => n + 1_000 * j),
      );
    }
  }, 60_000);
});
