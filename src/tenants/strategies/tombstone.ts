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
import { BSON, type Collection } from 'mongodb';
import { TenancyError } from '../../errors.js';
import { executeExpecting, type Runner, ServerCode } from '../../internal/execute.js';

/** `_id` of the marker document in a tombstone. */
export const TOMBSTONE_ID = '__mongo_tenancy_tombstone__';
/** Name of the unique index that rejects writes into a tombstone. */
export const TOMBSTONE_INDEX = 'mongo_tenancy_tombstone';
const TOMBSTONE_FIELD = '__mongo_tenancy_tombstone';
const ATTEMPTS = 5;
const DUPLICATE = Symbol('duplicate');

// Tenant collections hold any _id type; the marker's is a string.
type AnyCollection = Collection<{ _id: string }>;

/** What happened to documents found in a tombstone. */
export interface StrayCount {
  /** Documents found (besides the marker). */
  found: number;
  /** Of those, documents that could not be moved: the target held another document with the same `_id`, or one that breaks its unique index. They are discarded. */
  conflicts: number;
}

/**
 * Turns `collection` (dropped or renamed away a moment ago) into a tombstone.
 * Documents that stale handles wrote in between go to `strays` (or are
 * discarded when it is `null`).
 */
export async function tombstone(via: Runner, collection: Collection, strays: Collection | null): Promise<StrayCount> {
  const marked = collection as unknown as AnyCollection;
  const total: StrayCount = { found: 0, conflicts: 0 };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    addStrays(total, await moveDocuments(via, collection, strays));
    // With strays present, the unique index cannot be built (on MongoDB): move them and try again.
    const indexed = await executeExpecting(
      'create tombstone index',
      ServerCode.DuplicateKey,
      false,
      (o) =>
        marked.createIndex({ [TOMBSTONE_FIELD]: 1 }, { ...o, unique: true, name: TOMBSTONE_INDEX }).then(() => true),
      via,
    );
    if (!indexed) continue;
    const inserted = await executeExpecting(
      'insert tombstone',
      ServerCode.DuplicateKey,
      DUPLICATE,
      (o) => marked.insertOne({ _id: TOMBSTONE_ID }, o),
      via,
    );
    if (inserted !== DUPLICATE || (await hasMarker(via, marked))) {
      addStrays(total, await moveDocuments(via, collection, strays));
      return total;
    }
  }
  throw new TenancyError('STORAGE', 'Could not leave a tombstone: writes keep arriving through stale handles', {
    details: { operation: 'insert tombstone' },
  });
}

/** Adds `more` into `total`. */
export function addStrays(total: StrayCount, more: StrayCount): void {
  total.found += more.found;
  total.conflicts += more.conflicts;
}

/**
 * Whether `collection` is a complete tombstone: it carries the tombstone
 * index and the marker. One made half-way (the index without the marker,
 * after a crash) is not, so the operation that was making it finishes it.
 */
export async function isTombstone(via: Runner, collection: Collection): Promise<boolean> {
  const indexes = await executeExpecting(
    'read tombstone',
    ServerCode.NamespaceNotFound,
    [],
    (o) => collection.indexes(o),
    via,
  );
  return (
    indexes.some((index) => index.name === TOMBSTONE_INDEX) &&
    (await hasMarker(via, collection as unknown as AnyCollection))
  );
}

async function hasMarker(via: Runner, collection: AnyCollection): Promise<boolean> {
  return (await via.run('read tombstone', (o) => collection.findOne({ _id: TOMBSTONE_ID }, o))) !== null;
}

/**
 * Moves every document but the tombstone marker from `source` to `target`
 * (or discards it when `target` is `null`). A move only inserts: a document
 * whose `_id` the target already holds with other content, or that breaks a
 * unique index there, is never written over a live one; it is discarded and
 * counted as a conflict. Safe to run again after a crash.
 */
export async function moveDocuments(via: Runner, source: Collection, target: Collection | null): Promise<StrayCount> {
  const from = source as unknown as AnyCollection;
  const strays = await via.run('read stray documents', (o) => from.find({ _id: { $ne: TOMBSTONE_ID } }, o).toArray());
  let conflicts = 0;
  for (const doc of target ? strays : []) {
    if (!(await insertOrMatch(via, target as unknown as AnyCollection, doc))) conflicts += 1;
  }
  if (strays.length > 0) {
    await via.run('delete stray documents', (o) => from.deleteMany({ _id: { $in: strays.map((doc) => doc._id) } }, o));
  }
  return { found: strays.length, conflicts };
}

/** Inserts `doc`; `true` when it is in `target` afterwards (inserted now, or by an earlier attempt). */
async function insertOrMatch(via: Runner, target: AnyCollection, doc: { _id: string }): Promise<boolean> {
  const inserted = await executeExpecting(
    'move stray document',
    ServerCode.DuplicateKey,
    false,
    (o) => target.insertOne(doc, o).then(() => true),
    via,
  );
  if (inserted) return true;
  const existing = await via.run('read moved document', (o) => target.findOne({ _id: doc._id }, o));
  return existing !== null && BSON.EJSON.stringify(existing) === BSON.EJSON.stringify(doc);
}
