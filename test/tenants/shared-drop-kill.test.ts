/**
 * Shared collections: dropping a tenant deletes its documents from every
 * shared collection in batches, each a call under the drop's lease. A real
 * process dropping a large tenant is killed with SIGKILL half-way through the
 * deleting (seen by counting the tenant's documents as they go), and the next
 * process's recovery finishes the drop: none of the tenant's documents is left,
 * another tenant's are all there, and the registry, claims and journal are
 * as the invariants require.
 *
 * `npm test` drops a tenant of 10,000 documents; `npm run test:matrix` one of
 * 100,000 (on FerretDB v1, each batch's calls scan the collection, about a
 * minute and a half for the whole test).
 */
import { ObjectId } from 'mongodb';
import { expect, inject, it } from 'vitest';
import { sharedCollections, type Tenant, type TenantManager } from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { startChild } from '../support/crash-child.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const FULL = process.env.MONGO_TENANCY_MATRIX === 'full';
/** The dropped tenant's documents, half in the default collection and half in `orders`. */
const DOCUMENTS = FULL ? 100_000 : 10_000;
/** The other tenant's, in each of the two collections. */
const KEPT = 1_000;
const INSERT_BATCH = 5_000;
/** What the drop deletes per call: the default in the full run, smaller in `npm test` so it takes ten calls. */
const DELETE_BATCH = FULL ? 10_000 : 1_000;
/**
 * Long enough for one call's deadline (a quarter lease) to cover a batch on FerretDB v1, which scans the collection
 * (about five seconds per batch of 10,000 with 100,000 documents); the injected clock passes it at once.
 */
const LEASE_MS = 40_000;

async function fill(tenants: TenantManager, tenant: Tenant, name: string | undefined, count: number, from = 0) {
  const collection = tenants.scope(tenant).collection(name);
  for (let start = 0; start < count; start += INSERT_BATCH) {
    const size = Math.min(INSERT_BATCH, count - start);
    await collection.insertMany(Array.from({ length: size }, (_, i) => ({ n: from + start + i, pad: 'x'.repeat(32) })));
  }
}

/** The tenant's documents, through its scoped handles: in the default collection and in `orders`. */
async function remaining(tenants: TenantManager, tenant: Tenant): Promise<number> {
  const scope = tenants.scope(tenant);
  return (await scope.collection().countDocuments()) + (await scope.collection('orders').countDocuments());
}

it(`a drop of a tenant of ${DOCUMENTS.toLocaleString('en')} documents killed mid-way is finished by the next process`, async () => {
  const started = Date.now();
  const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
  const masterDbName = dbName('shared_drop');
  const make = managerFactory(client, () => masterDbName);
  const strategy = sharedCollections({ deleteBatchSize: DELETE_BATCH });
  const tenants = make({ strategy, leaseMs: LEASE_MS });
  const big = await tenants.create({ name: 'Big Corp' });
  const kept = await tenants.create({ name: 'Kept Corp' });
  await fill(tenants, big, undefined, DOCUMENTS / 2);
  await fill(tenants, big, 'orders', DOCUMENTS / 2, DOCUMENTS / 2);
  await fill(tenants, kept, undefined, KEPT);
  await fill(tenants, kept, 'orders', KEPT);
  expect(await remaining(tenants, big)).toBe(DOCUMENTS);
  const inserted = seconds(started);

  // The drop, in a process of its own, killed once a quarter of the documents are gone and at least two batches
  // are left (so the deleting is under way, whatever the server's speed). The child pauses after each batch so
  // the count below sees it in the middle even on a fast server.
  const dropping = Date.now();
  const child = startChild({
    uri: inject('mongoUri'),
    masterDbName,
    leaseMs: LEASE_MS,
    layout: 'shared',
    op: 'drop',
    tenantId: big.id,
    deletePauseMs: 50,
    deleteBatchSize: DELETE_BATCH,
  });
  let exited = false;
  const exit = child.exited.finally(() => {
    exited = true;
  });
  let atKill = -1;
  while (!exited) {
    const polled = Date.now();
    const left = await remaining(tenants, big);
    if (left <= (DOCUMENTS * 3) / 4 && left >= 2 * DELETE_BATCH) {
      child.kill();
      atKill = left;
      break;
    }
    // Counting scans on FerretDB v1 and slows the drop down: wait as long as the count took.
    await new Promise((done) => setTimeout(done, Math.max(10, Date.now() - polled)));
  }
  expect(await exit, 'the drop finished before it was killed').toMatchObject({ signal: 'SIGKILL' });
  const left = await remaining(tenants, big);
  expect(left).toBeGreaterThan(0); // some, not all, documents are gone
  expect(left).toBeLessThan(DOCUMENTS);
  const raw = await tenants.master.collection('organizations').findOne({ _id: new ObjectId(big.id) });
  expect(raw).toMatchObject({ status: 'dropping' });
  const killedAfter = seconds(dropping);

  // A process started two leases later: the dead holder's lease has expired, and its recovery finishes the drop.
  const recovering = Date.now();
  const after = make({ strategy, leaseMs: LEASE_MS, clock: () => new Date(Date.now() + 2 * LEASE_MS) });
  expect(await after.recover()).toMatchObject({
    operations: [{ op: 'drop', tenantId: big.id, outcome: 'rolled-forward' }],
    failed: [],
  });
  await after.init();
  const recovered = seconds(recovering);

  expect(await after.get(big.id)).toBeNull();
  expect(await remaining(after, big)).toBe(0);
  const shared = after.master;
  expect(await shared.collection('shared').countDocuments({ tenantId: big.id })).toBe(0);
  expect(await shared.collection('shared__orders').countDocuments({ tenantId: big.id })).toBe(0);
  const scope = after.scope(kept);
  expect(await scope.collection().countDocuments()).toBe(KEPT);
  expect(await scope.collection('orders').countDocuments()).toBe(KEPT);
  expect(await scope.collection('orders').countDocuments({ n: { $lt: KEPT } })).toBe(KEPT);
  const keys = await after.master.collection('organization_keys').find().sort({ _id: 1 }).toArray();
  expect(keys.map((k) => [k._id, k.state])).toEqual([
    ['big_corp', 'dropped'],
    ['kept_corp', 'active'],
  ]);
  await assertInvariants(client, after, { tenants: 1 });
  console.log(
    `shared drop of ${DOCUMENTS} documents: inserted in ${inserted}, killed after ${killedAfter} with ${atKill} left, ` +
      `recovered in ${recovered}; ${seconds(started)} in all`,
  );
}, 900_000);
