/**
 * The options each method of a tenant-scoped collection takes: an allow-list
 * per method. Each allowed option is read once into a fresh object (the one
 * the driver gets); a structured one is a canonical copy, a collation, a
 * hint, a `let` and a sort are checked; any other option (`explain`, `out`, `min`, `max`, `raw`, `dbName`,
 * ...) is refused. What is not listed cannot reach the driver.
 */
import type { Document } from 'mongodb';
import { canonical, pairsOfMap, type Wire, wireOf } from './scoped-canonical.js';
import {
  checkCollation,
  checkHint,
  checkLet,
  checkSort,
  hasKey,
  refuse,
  type Scope,
  touches,
  words,
} from './scoped-rules.js';

/** Every call: sessions, read and write settings, deadlines, and how values are (de)serialized (`raw` is not). */
const COMMON =
  'session readPreference readConcern maxTimeMS comment signal timeoutMS willRetryWrite ' +
  'ignoreUndefined serializeFunctions checkKeys promoteLongs promoteValues promoteBuffers bsonRegExp useBigInt64 ' +
  'enableUtf8Validation';
const WRITE = `${COMMON} writeConcern`;
const CURSOR = 'batchSize maxAwaitTimeMS timeoutMode';
/** The index options the driver sends (its own `VALID_INDEX_OPTIONS`). */
const INDEX_OPTIONS =
  'background unique name partialFilterExpression sparse hidden expireAfterSeconds storageEngine collation version ' +
  'weights default_language language_override textIndexVersion 2dsphereIndexVersion bits min max bucketSize ' +
  'wildcardProjection';

/** The options each method takes (and the fields each kind of bulkWrite operation takes). */
const LISTS: Readonly<Record<string, string>> = {
  find:
    `${COMMON} ${CURSOR} limit sort projection skip hint timeout tailable awaitData noCursorTimeout collation ` +
    'allowDiskUse singleBatch allowPartialResults let oplogReplay',
  aggregate: `${COMMON} ${CURSOR} allowDiskUse cursor collation hint let`,
  countDocuments: `${COMMON} skip limit collation hint allowDiskUse`,
  distinct: `${COMMON} collation hint`,
  insertOne: `${WRITE} forceServerObjectId`,
  insertMany: `${WRITE} ordered forceServerObjectId`,
  bulkWrite: `${WRITE} ordered forceServerObjectId let`,
  update: `${WRITE} arrayFilters collation hint upsert let sort`,
  replace: `${WRITE} collation hint upsert let sort`,
  delete: `${COMMON} writeConcern collation hint let`,
  findOneAndUpdate: `${WRITE} arrayFilters collation hint projection returnDocument sort upsert let includeResultMetadata`,
  findOneAndReplace: `${WRITE} collation hint projection returnDocument sort upsert let includeResultMetadata`,
  findOneAndDelete: `${COMMON} writeConcern collation hint projection sort let includeResultMetadata`,
  watch:
    `${COMMON} batchSize maxAwaitTimeMS collation fullDocument fullDocumentBeforeChange resumeAfter startAfter ` +
    'startAtOperationTime showExpandedEvents',
  createIndex: `${COMMON} commitQuorum ${INDEX_OPTIONS}`,
  indexOptions: INDEX_OPTIONS,
  indexCommand: `${COMMON} commitQuorum`,
  indexDescription: `key ${INDEX_OPTIONS}`,
  metadata: `${COMMON} ${CURSOR} full`,
  'bulk.updateOne': 'filter update arrayFilters collation hint upsert sort',
  'bulk.updateMany': 'filter update arrayFilters collation hint upsert',
  'bulk.replaceOne': 'filter replacement collation hint upsert sort',
  'bulk.deleteOne': 'filter collation hint',
  'bulk.deleteMany': 'filter collation hint',
};
const ALLOWED: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(LISTS).map(([method, list]) => [method, words(list)]),
);

/** Options whose value is a document or array the driver serializes: sent as a canonical copy. */
const STRUCTURED = words(
  'collation arrayFilters let projection sort hint cursor partialFilterExpression wildcardProjection key weights ' +
    'storageEngine filter update replacement resumeAfter startAfter',
);

/** Change-stream settings that never bring a document other than the one the event is about (see `watch`). */
const FULL_DOCUMENT: ReadonlySet<unknown> = new Set(['default', 'whenAvailable', 'required']);
const BEFORE_CHANGE: ReadonlySet<unknown> = new Set(['off', 'whenAvailable', 'required']);

/** A method's options, copied; and the serializer settings they make. */
export interface Copied {
  readonly options: Document | undefined;
  readonly wire: Wire;
}

/**
 * `options` of `method` copied into a fresh object: each allowed option read
 * once, a structured one canonical, the collation and hint checked; `undefined` stays
 * `undefined`.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for an option the method does not take, or a value the
 * handle refuses.
 */
export function copyOptions(scope: Scope, method: string, options: unknown): Copied {
  if (options === undefined || options === null) return { options: undefined, wire: scope.wire };
  if (typeof options !== 'object') refuse(`the options of ${method} must be an object`);
  const allowed = ALLOWED.get(method) ?? refuse(`${method} has no options`);
  for (const key in options) if (!allowed.has(key)) refuse(`${method} does not take the option ${key}`);
  const copy: Document = {};
  for (const key of allowed) {
    const value: unknown = (options as Document)[key];
    if (value !== undefined) copy[key] = value;
  }
  const wire = wireOf(scope.wire, copy);
  for (const key of STRUCTURED) {
    const value: unknown = copy[key];
    // A sort or index key given as a Map keeps its order as [name, value] pairs (an object would not, for numeric names).
    const given = key === 'sort' || key === 'key' ? pairsOfMap(value) : value;
    if (typeof value === 'object' && value !== null) copy[key] = canonical(given, wire, `the ${key} option`);
  }
  checkCollation(copy.collation);
  checkHint(scope, copy.hint);
  checkLet(copy.let);
  checkSort(copy.sort);
  if (copy.fullDocument !== undefined && !FULL_DOCUMENT.has(copy.fullDocument)) {
    refuse(
      `fullDocument: ${String(copy.fullDocument)} (updateLookup reads a document that may no longer be the one changed)`,
    );
  }
  if (copy.fullDocumentBeforeChange !== undefined && !BEFORE_CHANGE.has(copy.fullDocumentBeforeChange)) {
    refuse(`fullDocumentBeforeChange: ${String(copy.fullDocumentBeforeChange)}`);
  }
  if (hasKey(copy.partialFilterExpression, (key) => touches(scope, key)))
    refuse(`a partialFilterExpression naming ${scope.field}`);
  if (hasKey(copy.wildcardProjection, (key) => touches(scope, key)))
    refuse(`a wildcardProjection naming ${scope.field}`);
  return { options: copy, wire };
}
