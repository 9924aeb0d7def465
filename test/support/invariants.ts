/**
 * The invariants the registry and the storage keep after any operation or
 * recovery, under every layout: every record is active and has its storage,
 * every claim matches, the journal is empty, and no tenant storage is
 * orphaned:
 *
 * - a collection per tenant: each tenant-named collection belongs to an
 *   active tenant or is a tombstone under a retired or dropped key;
 * - a database per tenant: each database under a prefix in use belongs to a
 *   key that is not purged (a purged key's storage is gone for good);
 * - shared collections: no document carries the id of a tenant that has no
 *   record.
 */
import type { Document, MongoClient } from 'mongodb';
import { expect } from 'vitest';
import type { TenantManager } from '../../src/index.js';

export interface Expected {
  /** How many records the registry holds. */
  readonly tenants?: number;
  /**
   * A prefix of tenant databases (`databasePerTenant({ prefix })`) under which every database must belong to a
   * key. The prefixes of the key claims' databases are checked whether given or not.
   */
  readonly databasePrefix?: string | undefined;
}

export async function assertInvariants(client: MongoClient, tenants: TenantManager, expected: Expected = {}) {
  const master = tenants.master;
  const records = await master.collection('organizations').find().toArray();
  const keys = await master.collection('organization_keys').find().toArray();
  const names = await master.collection('organization_names').find().toArray();
  const journal = await master.collection('tenancy_journal').find().toArray();
  const takeovers = await master.collection('tenancy_takeovers').find().toArray();
  if (expected.tenants !== undefined) expect(records).toHaveLength(expected.tenants);
  expect(journal).toEqual([]);
  expect(takeovers, 'takeover claims left behind').toEqual([]);
  expect(records.filter((r) => r.status !== 'active' && r.status !== 'suspended')).toEqual([]);

  // Names: exactly one claim per record, none left over.
  expect(names.map((n) => `${n._id}:${n.tenantId}`).sort()).toEqual(records.map((r) => `${r.nameKey}:${r._id}`).sort());

  // Owned documents (admins, email claims) of tenants that do not exist are orphans.
  const ids = new Set(records.map((r) => String(r._id)));
  for (const name of ['organization_admins', 'organization_admin_emails']) {
    const owned = await master.collection(name).find().toArray();
    expect(
      owned.filter((d) => !ids.has(String(d.tenantId))),
      `${name} of no tenant`,
    ).toEqual([]);
  }

  // Keys: each record's key is claimed active by it; every other claim is a tombstone, held by a tenant that
  // exists (retired: an old key of a renamed tenant) or not (dropped).
  for (const claim of keys.filter((k) => k.state === 'retired')) expect(ids.has(String(claim.tenantId))).toBe(true);
  for (const claim of keys.filter((k) => k.state === 'dropped')) expect(ids.has(String(claim.tenantId))).toBe(false);
  for (const record of records) {
    expect(keys.find((k) => k._id === record.key)).toMatchObject({ tenantId: record._id, state: 'active' });
  }
  const recordKeys = new Set(records.map((r) => r.key));
  for (const claim of keys.filter((k) => !recordKeys.has(k._id))) {
    expect(['retired', 'dropped', 'purged']).toContain(claim.state);
  }

  // Storage: every active record's collection exists; every tenant collection is owned or tombstoned.
  const databases = new Set([master.databaseName, ...records.map((r) => r.storage.database)]);
  for (const database of databases) {
    const existing = (await client.db(database).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    for (const record of records.filter((r) => r.storage.database === database)) {
      expect(existing).toContain(record.storage.collection);
    }
    for (const name of existing.filter((n) => n.startsWith('org_'))) {
      const base = name.split('__')[0];
      const owner = keys.find(
        (k) => k.storage.strategy === 'collection' && k.storage.database === database && k.storage.collection === base,
      );
      expect(owner, `collection ${name} has no key claim: orphaned`).toBeDefined();
      expect(owner?.state, `collection ${name} under a purged key`).not.toBe('purged');
      if (owner?.state !== 'active') {
        const collection = client.db(database).collection(name);
        const marker = await collection.findOne({ _id: '__mongo_tenancy_tombstone__' as never });
        const indexes = await collection.indexes();
        expect(marker, `collection ${name} under a ${owner?.state} key has no tombstone marker`).not.toBeNull();
        expect(indexes.map((i) => i.name)).toContain('mongo_tenancy_tombstone');
      }
    }
  }

  await databaseInvariants(client, records, keys, expected.databasePrefix);
  await sharedInvariants(client, records, keys, ids);
}

/**
 * A database per tenant: every active record's database exists, and every
 * database under a prefix in use belongs to a key that is not purged. The
 * prefixes are the given one and those of the key claims (a key's database
 * is `<prefix><key>`).
 */
async function databaseInvariants(
  client: MongoClient,
  records: Document[],
  keys: Document[],
  given: string | undefined,
): Promise<void> {
  const claims = keys.filter((k) => k.storage?.strategy === 'database');
  const prefixes = new Set(given === undefined ? [] : [given]);
  for (const claim of claims) {
    const database = String(claim.storage.database);
    if (database.endsWith(String(claim._id))) prefixes.add(database.slice(0, -String(claim._id).length));
  }
  if (prefixes.size === 0) return;
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  const listed = databases.map((d) => d.name);
  for (const record of records.filter((r) => r.storage.strategy === 'database')) {
    expect(listed, `the database of ${record.name} is missing`).toContain(record.storage.database);
  }
  for (const database of listed.filter((name) => [...prefixes].some((p) => name.startsWith(p)))) {
    const owner = claims.find((k) => k.storage.database === database);
    expect(owner, `database ${database} has no key claim: orphaned`).toBeDefined();
    expect(owner?.state, `database ${database} under a purged key`).not.toBe('purged');
  }
}

/**
 * Shared collections: in every shared collection of every place a shared
 * tenant ever had (database, default collection and tenant field, from the
 * key claims and the records), no document carries a tenant value that is
 * not a record's id.
 */
async function sharedInvariants(
  client: MongoClient,
  records: Document[],
  keys: Document[],
  ids: ReadonlySet<string>,
): Promise<void> {
  const places = new Map<string, { database: string; collection: string; field: string }>();
  for (const { storage } of [...records, ...keys]) {
    if (storage?.strategy !== 'shared') continue;
    const { database, collection, field } = storage as { database: string; collection: string; field: string };
    places.set(`${database}.${collection}.${field}`, { database, collection, field });
  }
  for (const { database, collection, field } of places.values()) {
    const db = client.db(database);
    const shared = (await db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((name) => name === collection || name.startsWith(`${collection}__`));
    for (const name of shared) {
      const groups = await db
        .collection(name)
        .aggregate<{ _id: unknown; n: number }>([{ $group: { _id: `$${field}`, n: { $sum: 1 } } }])
        .toArray();
      const orphans = groups.filter((g) => !ids.has(String(g._id)));
      expect(orphans, `documents in ${database}.${name} of tenants that have no record`).toEqual([]);
    }
  }
}
