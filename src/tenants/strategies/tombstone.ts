/**
 * Tombstones: what stays at a physical name after its tenant was dropped or
 * its storage renamed, so that a write through a handle taken before the
 * operation is not silently lost.
 *
 * A tombstone is the collection with one marker document and a unique index
 * on a field no application document has. On MongoDB a unique index admits
 * only one document missing the indexed field (the marker), so every later
 * insert or upsert through a stale handle fails with a duplicate-key error
 * on the index `mongo_tenancy_tombstone`. FerretDB v1 does not enforce that
 * rule (see docs/compatibility.md); there, `recover()` finds such documents
 * and moves them to the renamed tenant, or counts and discards them for a
 * dropped one.
 */
import type { Collection } from 'mongodb';
import { TenancyError } from '../../errors.js';
import { execute, executeExpecting, ServerCode } from '../../internal/execute.js';

/** `_id` of the marker document in a tombstone. */
export const TOMBSTONE_ID = '__mongo_tenancy_tombstone__';
/** Name of the unique index that rejects writes into a tombstone. */
export const TOMBSTONE_INDEX = 'mongo_tenancy_tombstone';
const TOMBSTONE_FIELD = '__mongo_tenancy_tombstone';
const ATTEMPTS = 5;
const DUPLICATE = Symbol('duplicate');

// Tenant collections hold any _id type; the marker's is a string.
type AnyCollection = Collection<{ _id: string }>;

/**
 * Turns `collection` (dropped or renamed away a moment ago) into a tombstone.
 * Documents that stale handles wrote in between go to `strays` (or are
 * discarded when it is `null`).
 */
export async function tombstone(collection: Collection, strays: Collection | null): Promise<void> {
  const marked = collection as unknown as AnyCollection;
  await execute('create tombstone index', () =>
    marked.createIndex({ [TOMBSTONE_FIELD]: 1 }, { unique: true, name: TOMBSTONE_INDEX }),
  );
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const inserted = await executeExpecting('insert tombstone', ServerCode.DuplicateKey, DUPLICATE, () =>
      marked.insertOne({ _id: TOMBSTONE_ID }),
    );
    if (inserted !== DUPLICATE || (await isTombstone(collection))) {
      await moveDocuments(collection, strays);
      return;
    }
    await moveDocuments(collection, strays);
  }
  throw new TenancyError('STORAGE', 'Could not leave a tombstone: writes keep arriving through stale handles', {
    details: { operation: 'insert tombstone' },
  });
}

/** Whether `collection` is a tombstone. */
export async function isTombstone(collection: Collection): Promise<boolean> {
  const marked = collection as unknown as AnyCollection;
  return (await execute('read tombstone', () => marked.findOne({ _id: TOMBSTONE_ID }))) !== null;
}

/**
 * Moves every document but the tombstone marker from `source` to `target`
 * (or deletes it when `target` is `null`); returns how many there were.
 */
export async function moveDocuments(source: Collection, target: Collection | null): Promise<number> {
  const from = source as unknown as AnyCollection;
  const strays = await execute('read stray documents', () => from.find({ _id: { $ne: TOMBSTONE_ID } }).toArray());
  if (strays.length === 0) return 0;
  if (target) {
    // Replace by _id, so a retry after a crash does not duplicate what already moved.
    const to = target as unknown as AnyCollection;
    await execute('move stray documents', () =>
      to.bulkWrite(strays.map((doc) => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } }))),
    );
  }
  await execute('delete stray documents', () => from.deleteMany({ _id: { $in: strays.map((doc) => doc._id) } }));
  return strays.length;
}
