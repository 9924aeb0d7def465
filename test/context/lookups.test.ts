/**
 * Cached tenant lookups: one database round trip per name per time-to-live (found or not), this process's changes
 * seen at once, another process's within the stated bound (ttlMs), and the bound on the number of entries.
 */
import { spawn } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { type Tenant, TenantDomains, TenantLookups, TenantManager } from '../../src/index.js';
import { useTestClient } from '../support/context.js';

const { dbName } = useTestClient();

/** A client that counts the registry reads it sends (every lookup of a tenant or a domain is one `find`). */
function countingClient() {
  const client = new MongoClient(inject('mongoUri'), { monitorCommands: true });
  const counter = { finds: 0 };
  client.on('commandStarted', (e) => {
    if (
      e.commandName === 'find' &&
      ['organizations', 'organization_names', 'tenancy_domains'].includes(e.command.find)
    ) {
      counter.finds++;
    }
  });
  return { client, counter };
}

const clients: MongoClient[] = [];
afterAll(async () => {
  for (const client of clients) await client.close();
});

function setUp(options: { ttlMs?: number; missTtlMs?: number; max?: number } = {}) {
  const { client, counter } = countingClient();
  clients.push(client);
  let now = Date.now();
  const clock = () => new Date(now);
  const masterDbName = dbName('master');
  const tenants = new TenantManager({ client, masterDbName });
  const domains = new TenantDomains(tenants);
  const lookups = new TenantLookups(tenants, { domains, clock, ...options });
  const advance = (ms: number) => {
    now += ms;
  };
  return { tenants, domains, lookups, counter, advance, masterDbName };
}

/** The database reads `run` makes. */
async function reads(counter: { finds: number }, run: () => Promise<unknown>): Promise<number> {
  const before = counter.finds;
  await run();
  return counter.finds - before;
}

describe('TenantLookups', () => {
  it('answers a repeated lookup from the cache until its time-to-live passes, found or not', async () => {
    const { tenants, domains, lookups, counter, advance } = setUp({ ttlMs: 5_000, missTtlMs: 1_000 });
    const acme = await tenants.create({ name: 'Acme' });
    await domains.add(acme.id, 'acme.test');
    expect(await reads(counter, () => lookups.get(acme.id))).toBeGreaterThan(0);
    expect(await reads(counter, () => lookups.get({ id: acme.id }))).toBe(0);
    expect(await reads(counter, () => lookups.find('acme.test'))).toBeGreaterThan(0);
    expect(await reads(counter, () => lookups.find('acme.test'))).toBe(0);
    // A flood of one unknown name or host costs one round trip each per missTtlMs.
    expect(await reads(counter, () => lookups.get({ name: 'Nobody' }))).toBeGreaterThan(0);
    expect(
      await reads(counter, () => Promise.all(Array.from({ length: 100 }, () => lookups.get({ name: 'Nobody' })))),
    ).toBe(0);
    expect(await reads(counter, () => lookups.find('nobody.test'))).toBe(1);
    expect(await reads(counter, () => lookups.find('nobody.test'))).toBe(0);
    advance(1_001);
    expect(await reads(counter, () => lookups.find('nobody.test'))).toBe(1);
    expect(await reads(counter, () => lookups.find('acme.test'))).toBe(0); // found: 5 s
    advance(4_000);
    expect(await reads(counter, () => lookups.find('acme.test'))).toBe(1);
  });

  it('sees this process\u2019s renames, suspends, drops, creates and domain changes at once', async () => {
    const { tenants, domains, lookups } = setUp({ ttlMs: 60_000, missTtlMs: 60_000 });
    const acme = await tenants.create({ name: 'Acme' });
    await lookups.get(acme.id);
    expect(await lookups.get({ name: 'Globex' })).toBeNull();
    expect(await lookups.find('globex.test')).toBeNull();
    await tenants.rename(acme.id, 'Acme Industries');
    expect((await lookups.get(acme.id))?.name).toBe('Acme Industries');
    await tenants.suspend(acme.id);
    expect((await lookups.get(acme.id))?.status).toBe('suspended');
    await tenants.resume(acme.id);
    const globex = await tenants.create({ name: 'Globex' });
    expect((await lookups.get({ name: 'Globex' }))?.id).toBe(globex.id);
    await domains.add(globex.id, 'globex.test');
    expect(await lookups.find('globex.test')).toEqual({ id: globex.id });
    await domains.remove('globex.test');
    expect(await lookups.find('globex.test')).toBeNull();
    await domains.add(acme.id, 'acme.test');
    expect(await lookups.find('acme.test')).toEqual({ id: acme.id });
    await tenants.drop(acme.id);
    expect(await lookups.get(acme.id)).toBeNull();
    expect(await lookups.find('acme.test')).toBeNull();
    lookups.close();
  });

  it('keeps no answer read across a change this process made, and a rename answers a name cached as none', async () => {
    const { tenants, lookups } = setUp({ ttlMs: 60_000, missTtlMs: 60_000 });
    const acme = await tenants.create({ name: 'Acme' });
    // The read finds acme active, then waits while the suspend completes (the change lands during the read).
    const read = tenants.get.bind(tenants);
    let release = () => {};
    const held = new Promise<void>((done) => {
      release = done;
    });
    const spy = vi.spyOn(tenants, 'get').mockImplementationOnce(async (ref) => {
      const found = await read(ref);
      await held;
      return found;
    });
    const during = lookups.get(acme.id);
    await vi.waitFor(() => expect(spy).toHaveBeenCalled());
    await tenants.suspend(acme.id);
    release();
    expect((await during)?.status).toBe('active'); // what the read saw is returned...
    expect((await lookups.get(acme.id))?.status).toBe('suspended'); // ...but not kept
    spy.mockRestore();
    expect(await lookups.get({ name: 'Acme Industries' })).toBeNull();
    await tenants.resume(acme.id);
    await tenants.rename(acme.id, 'Acme Industries');
    expect((await lookups.get({ name: 'Acme Industries' }))?.id).toBe(acme.id);
    lookups.close();
  });

  it('sees another process\u2019s suspend once ttlMs has passed (the stated bound), and keeps its answer until then', async () => {
    const { tenants, lookups, advance, masterDbName } = setUp({ ttlMs: 5_000 });
    const acme = await tenants.create({ name: 'Acme' });
    expect((await lookups.get(acme.id))?.status).toBe('active');
    await inAnotherProcess(masterDbName, acme.id);
    expect((await tenants.get(acme.id))?.status).toBe('suspended'); // the change landed
    advance(4_999);
    expect((await lookups.get(acme.id))?.status).toBe('active'); // cached: within the stated bound
    advance(2);
    expect((await lookups.get(acme.id))?.status).toBe('suspended');
  }, 60_000);

  it('keeps at most `max` entries, the least recently used out first', async () => {
    const { tenants, lookups, counter } = setUp({ max: 2 });
    const all: Tenant[] = [];
    for (const name of ['A1', 'A2', 'A3']) all.push(await tenants.create({ name }));
    const [a1, a2, a3] = all as [Tenant, Tenant, Tenant];
    await lookups.get(a1.id);
    await lookups.get(a2.id);
    await lookups.get(a1.id); // a2 is now the least recently used
    await lookups.get(a3.id);
    expect(await reads(counter, () => lookups.get(a1.id))).toBe(0);
    expect(await reads(counter, () => lookups.get(a2.id))).toBeGreaterThan(0);
  });

  it('refuses invalid options with INVALID_OPTIONS', () => {
    const { tenants } = setUp();
    for (const options of [{ max: 0 }, { ttlMs: -1 }, { missTtlMs: 60_001 }, { domains: {} }, { other: 1 }]) {
      expect(() => new TenantLookups(tenants, options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    }
  });
});

/** Suspends the tenant through a manager in a separate Node process (its own caches, its own change listeners). */
function inAnotherProcess(masterDbName: string, tenantId: string): Promise<void> {
  const script = `
    import { MongoClient } from 'mongodb';
    import { TenantManager } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).pathname)};
    const client = new MongoClient(process.env.MONGODB_URI);
    await new TenantManager({ client, masterDbName: process.env.MASTER_DB_NAME }).suspend(process.env.TENANT_ID);
    await client.close();
  `;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, MONGODB_URI: inject('mongoUri'), MASTER_DB_NAME: masterDbName, TENANT_ID: tenantId },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`the other process exited with ${code}`))));
  });
}
