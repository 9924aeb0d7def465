/**
 * A tenant's view of a collection shared by many tenants: the driver's own
 * `Collection<T>` type, behind a `Proxy` that adds the tenant condition to
 * every read and write and refuses what it cannot scope.
 *
 * @packageDocumentation
 */
import type { AggregationCursor, BulkWriteOptions, Collection, Document, FindCursor, InsertOneOptions } from 'mongodb';
import { TenancyError } from '../../errors.js';
import { OBJECT_MEMBERS, TREATMENT } from './scoped-methods.js';
import { checkStage, scopeChangeStream, scopePipeline } from './scoped-pipeline.js';

export { COLLECTION_METHODS, type MemberTreatment } from './scoped-methods.js';

import { byIdAlone, checkCollation, refuse, type Scope, scopeFilter, stamp } from './scoped-rules.js';
import { scopeBulkOperation, scopeIndexes, scopeIndexKey, scopeUpdate } from './scoped-writes.js';

/** Which tenant a handle is scoped to, and how. */
export interface ScopeRule {
  /** The tenant field, e.g. 'tenantId'. */
  readonly field: string;
  /** The tenant's value in that field (a string). */
  readonly value: string;
  /**
   * Maps a logical collection name used inside a pipeline ($lookup.from,
   * $graphLookup.from, $unionWith.coll) to the physical shared collection
   * name, or null when that name is not a valid tenant collection name.
   */
  readonly physical: (logical: string) => string | null;
}

const AsyncFunction = (async () => {}).constructor;
const FIELD = /^[^$.\0][^.\0]*$/;

type Raw = Collection<Document>;
type Member = (...args: never[]) => unknown;

/**
 * A collection handle that reaches only one tenant's documents in a shared
 * collection, typed and used as the driver's `Collection<T>`:
 *
 * - filters get the tenant condition, which no user filter can widen;
 * - inserted and replacing documents get the tenant field (a shallow copy;
 *   the `_id` the driver generates is set on the caller's document, as the
 *   driver does); one naming another tenant is refused;
 * - updates cannot change the field, and upserts create documents carrying it;
 * - `aggregate` starts with the tenant's `$match`; `$lookup`, `$graphLookup`
 *   and `$unionWith` are pointed at physical collections and scoped; stages
 *   that write or report beyond the tenant are refused; the returned cursor's
 *   `addStage` (and builders), a find cursor's `filter` and `collation` are
 *   checked the same way;
 * - `watch` passes only events whose document after the change
 *   (`fullDocument`) or before it (`fullDocumentBeforeChange`) is the
 *   tenant's. Inserts and replaces always carry it; updates only with
 *   `fullDocument: 'updateLookup'`, deletes only with pre-images enabled on
 *   the collection and `fullDocumentBeforeChange: 'whenAvailable'`: without
 *   them, those events are filtered out, never passed unscoped;
 * - `createIndex(es)` prefix each key with the tenant field (a unique index is
 *   unique per tenant);
 * - a collation that can make two distinct strings equal (`strength` 1 or 2,
 *   `numericOrdering`, `alternate: 'shifted'`) is refused: the tenant condition
 *   is compared under it;
 * - members in {@link COLLECTION_METHODS} as `refused`, and members of the
 *   collection not listed there at all, throw; names the collection does not
 *   have read as `undefined`, as on the driver's (so `await` sees no `then`).
 *
 * The handle guards what is sent through its methods: it does not defend
 * against code that builds exotic objects (getters that change between reads,
 * proxies) or edits a cursor's internals (`cursor.pipeline.push`).
 *
 * @example
 * ```ts
 * const orders = scopedCollection<Order>(db.collection('shared__orders'), {
 *   field: 'tenantId',
 *   value: tenant.id,
 *   physical: (name) => `shared__${name}`,
 * });
 * await orders.insertOne({ total: 10 }); // stored with tenantId: tenant.id
 * await orders.find({ $or: [{ tenantId: 'other' }, {}] }).toArray(); // only this tenant's orders
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` for a rule whose field is not a top-level field name (not `_id`, no
 * `.`, no leading `$`), whose value is not a non-empty string without a leading `$`, or without `physical`. Calls
 * through the handle throw (or reject with) `UNSCOPED_OPERATION` for what cannot be scoped; database failures are the
 * driver's errors, as on the driver's collection.
 */
export function scopedCollection<T extends Document>(raw: Collection<T>, rule: ScopeRule): Collection<T> {
  const scope = toScope(rule);
  const collection = raw as unknown as Raw;
  const members = new Map<string | symbol, unknown>();
  const memo = (name: string, make: () => unknown) => {
    const known = members.get(name);
    if (known !== undefined) return known;
    const member = make();
    members.set(name, member);
    return member;
  };
  const handler: ProxyHandler<object> = {
    get(_target, name) {
      const treatment = typeof name === 'string' ? TREATMENT.get(name) : undefined;
      if (treatment === 'scoped') return memo(name as string, () => scoped(collection, scope, name as string));
      if (treatment === 'passthrough') return passthrough(collection, name as string, memo);
      if (treatment === 'refused') return refused(collection, name as string);
      if (typeof name === 'string' && OBJECT_MEMBERS.has(name)) return Reflect.get(collection, name);
      if (!(name in collection)) return undefined;
      return refuse(`${String(name)} is not a member the handle knows how to scope`);
    },
    set(_target, name, value) {
      if (name !== 'hint') refuse(`${String(name)} cannot be set on a scoped collection`);
      return Reflect.set(collection, name, value);
    },
    defineProperty: (_target, name) => refuse(`${String(name)} cannot be defined on a scoped collection`),
    deleteProperty: (_target, name) => refuse(`${String(name)} cannot be deleted from a scoped collection`),
    setPrototypeOf: () => refuse('the prototype of a scoped collection cannot change'),
  };
  // The target holds no state: reflection (own keys, descriptors) finds nothing of the raw collection.
  return new Proxy(Object.create(Object.getPrototypeOf(raw)), handler) as Collection<T>;
}

function scoped(raw: Raw, scope: Scope, name: string): Member {
  const make = SCOPED[name];
  return make ? make(raw, scope) : refuse(`${name} is listed as scoped but has no scoping`);
}

function toScope(rule: ScopeRule): Scope {
  const { field, value, physical } = (rule ?? {}) as Partial<ScopeRule>;
  const valid =
    typeof field === 'string' &&
    FIELD.test(field) &&
    field !== '_id' &&
    typeof value === 'string' &&
    value !== '' &&
    !value.startsWith('$') &&
    typeof physical === 'function';
  if (!valid) {
    throw new TenancyError('INVALID_OPTIONS', 'Invalid scope rule: a top-level field, a string value and physical()', {
      details: { field: 'rule' },
    });
  }
  return { field, value, physical, under: `${field}.` };
}

function passthrough(raw: Raw, name: string, memo: (name: string, make: () => unknown) => unknown): unknown {
  const member: unknown = Reflect.get(raw, name);
  if (typeof member !== 'function' || name === 'constructor') return member;
  return memo(name, () => member.bind(raw));
}

/** A refused method throws when called (rejects, when the driver's is async); any other member throws when read. */
function refused(raw: Raw, name: string): unknown {
  const member: unknown = Reflect.get(Object.getPrototypeOf(raw), name);
  const fail = () => refuse(`${name} reaches beyond one tenant`);
  if (typeof member !== 'function') return fail();
  return member instanceof AsyncFunction ? async () => fail() : fail;
}

/** Gives the caller's document the `_id` the driver gave its copy, as the driver does to the documents it is given. */
function adoptId(original: unknown, copy: Document): void {
  if ((original as Document)._id == null && copy._id != null) Reflect.set(original as Document, '_id', copy._id);
}

function guardFindCursor(scope: Scope, cursor: FindCursor): FindCursor {
  const { filter, collation, clone, addQueryModifier } = cursor;
  return Object.assign(cursor, {
    filter: (f: Document) => filter.call(cursor, scopeFilter(scope, f)),
    collation: (c: Document) => {
      checkCollation({ collation: c });
      return collation.call(cursor, c as never);
    },
    clone: () => guardFindCursor(scope, clone.call(cursor)),
    addQueryModifier: (name: string, value: Document) =>
      addQueryModifier.call(cursor, name, name === '$query' ? scopeFilter(scope, value) : value),
  });
}

function guardAggregationCursor(scope: Scope, cursor: AggregationCursor): AggregationCursor {
  const { addStage, clone } = cursor;
  // The builders (match, lookup, out, ...) all go through addStage.
  return Object.assign(cursor, {
    addStage: (stage: Document) => addStage.call(cursor, checkStage(scope, stage)),
    clone: () => guardAggregationCursor(scope, clone.call(cursor)),
  });
}

type Rewrite = (scope: Scope, args: unknown[]) => unknown[];
type Factory = (raw: Raw, scope: Scope) => Member;

/** Options after checking their collation. */
function checked(options: unknown): unknown {
  checkCollation(options);
  return options;
}

const byFilter: Rewrite = (scope, [filter, options]) => [scopeFilter(scope, filter), checked(options)];
const byUpdate: Rewrite = (scope, [filter, update, options]) => [
  scopeFilter(scope, filter),
  scopeUpdate(scope, update, (options as Document | undefined)?.upsert),
  checked(options),
];
const byReplacement: Rewrite = (scope, [filter, replacement, options]) => [
  scopeFilter(scope, filter),
  stamp(scope, replacement),
  checked(options),
];

/** An async method of the raw collection called with its arguments rewritten (a refusal rejects, as the driver's errors do). */
function rewritten(name: string, rewrite: Rewrite): Factory {
  return (raw, scope) => {
    const method = Reflect.get(raw, name) as (...args: unknown[]) => Promise<unknown>;
    return async (...args: unknown[]) => await method.apply(raw, rewrite(scope, args));
  };
}

/** The scoped members, each made once per handle on first use; they call the raw collection's own methods. */
const SCOPED: Readonly<Record<string, Factory>> = {
  findOne: (raw, scope) => async (filter?: unknown, options?: unknown) => {
    if (!byIdAlone(filter, options)) return await raw.findOne(scopeFilter(scope, filter), checked(options) as Document);
    const found = await raw.findOne(filter as Document, options as Document | undefined);
    return found?.[scope.field] === scope.value ? found : null;
  },
  countDocuments: rewritten('countDocuments', byFilter),
  deleteOne: rewritten('deleteOne', byFilter),
  deleteMany: rewritten('deleteMany', byFilter),
  findOneAndDelete: rewritten('findOneAndDelete', byFilter),
  distinct: rewritten('distinct', (scope, [key, ...rest]) => [key, ...byFilter(scope, rest)]),
  updateOne: rewritten('updateOne', byUpdate),
  updateMany: rewritten('updateMany', byUpdate),
  findOneAndUpdate: rewritten('findOneAndUpdate', byUpdate),
  replaceOne: rewritten('replaceOne', byReplacement),
  findOneAndReplace: rewritten('findOneAndReplace', byReplacement),
  createIndex: rewritten('createIndex', (scope, [spec, ...options]) => [scopeIndexKey(scope, spec), ...options]),
  createIndexes: rewritten('createIndexes', (scope, [specs, ...options]) => [scopeIndexes(scope, specs), ...options]),
  insertOne: (raw, scope) => async (doc: Document, options?: InsertOneOptions) => {
    const copy = stamp(scope, doc);
    const pending = raw.insertOne(copy, options);
    adoptId(doc, copy); // at once, as the driver does: it sets the copy's _id before its first await
    try {
      return await pending;
    } finally {
      adoptId(doc, copy); // and after, should a driver set it later
    }
  },
  insertMany: (raw, scope) => async (docs: unknown, options?: BulkWriteOptions) => {
    if (!Array.isArray(docs)) refuse('insertMany takes an array of documents');
    const copies = docs.map((doc) => stamp(scope, doc));
    try {
      return await raw.insertMany(copies, options);
    } finally {
      for (const [i, doc] of docs.entries()) adoptId(doc, copies[i] as Document);
    }
  },
  bulkWrite: (raw, scope) => async (operations: unknown, options?: BulkWriteOptions) => {
    if (!Array.isArray(operations)) refuse('bulkWrite takes an array of operations');
    const inserted: Array<[unknown, Document]> = [];
    const scoped = operations.map((operation) => scopeBulkOperation(scope, operation, inserted));
    try {
      return await raw.bulkWrite(scoped as never, options);
    } finally {
      for (const [original, copy] of inserted) adoptId(original, copy);
    }
  },
  find: (raw, scope) => (filter?: unknown, options?: Document) =>
    guardFindCursor(scope, raw.find(scopeFilter(scope, filter), checked(options) as Document)),
  aggregate: (raw, scope) => (pipeline?: unknown, options?: Document) =>
    guardAggregationCursor(scope, raw.aggregate(scopePipeline(scope, pipeline ?? []), checked(options) as Document)),
  watch: (raw, scope) => (pipeline?: unknown, options?: Document) => {
    // As the driver: the pipeline may be left out, options first.
    const [stages, given] = Array.isArray(pipeline) || pipeline === undefined ? [pipeline, options] : [[], pipeline];
    return raw.watch(scopeChangeStream(scope, stages ?? []), (checked(given) ?? {}) as Document);
  },
};
