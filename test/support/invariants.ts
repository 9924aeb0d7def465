/**
 * The invariants the registry and the storage keep after any operation or
 * recovery: every record is active and has its storage, no tenant-named
 * collection is orphaned (each belongs to an active tenant or is a
 * tombstone under a retired or dropped key), every claim matches, and the
 * journal is empty.
 */
import type { MongoClient } from 'mongodb';
import { expect } from 'vitest';
import type { TenantManager } from '../../src/index.js';

export async function assertInvariants(client: MongoClient, tenants: TenantManager, expected?: { tenants: number }) {
  const master = tenants.master;
  const records = await master.collection('organizations').find().toArray();
  const keys = await master.collection('organization_keys').find().toArray();
  const names = await master.collection('organization_names').find().toArray();
  const journal = await master.collection('tenancy_journal').find().toArray();
  const takeovers = await master.collection('tenancy_takeovers').find().toArray();
  if (expected) expect(records).toHaveLength(expected.tenants);
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
      const owner = keys.find((k) => k.storage.database === database && k.storage.collection === base);
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
}
