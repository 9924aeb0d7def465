/**
 * A tenant's view of a collection shared by many tenants: the driver's own
 * `Collection<T>` type, behind a `Proxy` that adds the tenant condition to
 * every read and write and refuses what it cannot scope.
 *
 * @packageDocumentation
 */
import type { Collection, Document } from 'mongodb';
import { TenancyError } from '../../errors.js';
import { SCOPED } from './scoped-calls.js';
import { OBJECT_MEMBERS, TREATMENT } from './scoped-methods.js';
import { refuse, type Scope } from './scoped-rules.js';

export { COLLECTION_METHODS, type MemberTreatment } from './scoped-methods.js';

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
 * collection, typed and used as the driver's `Collection<T>`.
 *
 * What is sent is what is checked: every filter, document, replacement,
 * update, pipeline, index key and structured option is first serialized as
 * the driver would serialize it (the collection's `ignoreUndefined` and
 * `serializeFunctions`, or the call's) and read back, and the handle checks
 * and sends that copy, never the caller's object. `toBSON`, objects the
 * serializer takes for a Map, getters, proxies and non-enumerable properties
 * are resolved once, in the copy; a value that cannot be serialized is
 * refused. Options are copied by an allow-list per method, each read once.
 *
 * Scoped:
 * - filters get the tenant condition, which no user filter can widen, and
 *   each `$expr` (in a filter or a `$match` stage) is evaluated only on the
 *   tenant's documents, so an expression that fails on another tenant's
 *   document cannot tell that it exists;
 * - inserted and replacing documents get the tenant field (the `_id` the
 *   driver generates is set on the caller's document, as the driver does);
 *   one naming another tenant is refused;
 * - updates cannot change the field, and upserts create documents carrying it;
 * - `aggregate` starts with the tenant's `$match`; `$lookup`, `$graphLookup`
 *   and `$unionWith` are pointed at physical collections and scoped;
 * - `createIndex(es)` prefix each key with the tenant field (a unique index is
 *   unique per tenant); the index serves every tenant of the collection, as
 *   the collection does;
 * - `watch` passes only events that carry the document after the change
 *   (`fullDocument`) or before it (`fullDocumentBeforeChange`), each that it
 *   carries being the tenant's. Inserts and replaces always carry the
 *   document; updates only with post-images (`fullDocument: 'whenAvailable'`
 *   or `'required'`) or pre-images (`fullDocumentBeforeChange`), deletes only
 *   with pre-images, both enabled on the collection
 *   (`changeStreamPreAndPostImages`): without them, those events are
 *   filtered out, never passed unscoped;
 * - cursors and change streams are proxies offering reading (`next`,
 *   `tryNext`, `hasNext`, `toArray`, `forEach`, `map`, `rewind`, `close`,
 *   `closed`, `id`, `killed`, `bufferedCount`, `readBufferedDocuments`,
 *   `stream`, `for await`), settings that cannot widen them (a find cursor's
 *   `sort`, `limit`, `skip`, `project`, `batchSize`, `maxTimeMS`,
 *   `maxAwaitTimeMS`, `comment`, `allowDiskUse`, and `hint` and `collation`,
 *   checked), an aggregation cursor's `addStage` and stage builders, checked
 *   as the pipeline's stages are, and a change stream's `resumeToken` and
 *   listeners (called with the proxy as `this`); `map` and `forEach`
 *   callbacks are called with `this` undefined;
 * - settings (`readPreference`, `writeConcern`, `readConcern`,
 *   `bsonOptions`) are read as frozen copies: the driver's objects are
 *   shared by every collection of the client.
 *
 * Refused with `UNSCOPED_OPERATION`:
 * - members in {@link COLLECTION_METHODS} as `refused`, and members of the
 *   collection not listed there at all; names the collection does not have
 *   read as `undefined`, as on the driver's (so `await` sees no `then`);
 * - every other member of a cursor or change stream (`client`, `parent`,
 *   `filter`, `clone`, `pipeline`, `explain`, `out`, ...), and any write to one;
 * - options a method does not list: `explain`, `out`, `min`, `max`, `raw`,
 *   `fieldsAsRaw`, `returnKey`, `showRecordId`, `dbName`, ...;
 *   `fullDocument: 'updateLookup'` (it reads the document under the event's
 *   `_id` when the event is read, which may by then be another tenant's);
 *   a `hint` that is not an index key starting with the tenant field (an
 *   index name, `_id`, `$natural`: the server would read every tenant's
 *   documents), and a `$natural` sort; a `let` binding `CURRENT` or `ROOT`;
 *   `$where`, and `$expr`, `$where` or `$function` in a change stream's
 *   `$match`; `partialFilterExpression` or `wildcardProjection`
 *   naming the tenant field;
 * - a collation that can make two distinct strings equal (`strength` 1 or 2,
 *   `numericOrdering`, `alternate: 'shifted'`), in queries and in indexes: the
 *   tenant condition is compared under it;
 * - stages that write or report beyond the tenant (`$out`, `$merge`,
 *   `$collStats`, ...), and any stage not known to stay within it.
 *
 * The threat is untrusted arguments, not untrusted code: code in the
 * process can import the driver, or patch the prototypes the handle's
 * objects share.
 *
 * Not defended (the collection and its indexes are shared): `_id` values are
 * unique across every tenant, so inserting an `_id` another tenant holds
 * answers duplicate key 11000, which tells that it exists (let the driver
 * make `_id`s); an index is built over every tenant's documents, so one
 * created through any tenant's handle serves (and, unique, constrains within
 * each tenant) every tenant, and a build failing on duplicates tells that
 * some tenant's documents conflict; timings and the server's own statistics
 * describe the whole collection.
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
 * @throws {@link TenancyError} `INVALID_OPTIONS` for a rule whose field is not a top-level field name (not `_id` or
 * `__proto__`, no `.`, no leading `$`), whose value is not a non-empty string without a leading `$`, or without `physical`. Calls
 * through the handle throw (or reject with) `UNSCOPED_OPERATION` for what cannot be scoped; database failures are the
 * driver's errors, as on the driver's collection.
 */
export function scopedCollection<T extends Document>(raw: Collection<T>, rule: ScopeRule): Collection<T> {
  const collection = raw as unknown as Raw;
  const scope = toScope(collection, rule);
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
    set: (_target, name) => refuse(`${String(name)} cannot be set on a scoped collection`),
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

function toScope(raw: Raw, rule: ScopeRule): Scope {
  const { field, value, physical } = (rule ?? {}) as Partial<ScopeRule>;
  const valid =
    typeof field === 'string' &&
    FIELD.test(field) &&
    field !== '_id' &&
    field !== '__proto__' &&
    typeof value === 'string' &&
    value !== '' &&
    !value.startsWith('$') &&
    typeof physical === 'function';
  if (!valid) {
    throw new TenancyError('INVALID_OPTIONS', 'Invalid scope rule: a top-level field, a string value and physical()', {
      details: { field: 'rule' },
    });
  }
  return { field, value, physical, under: `${field}.`, wire: wireOf(raw) };
}

/** How the raw collection serializes commands (the driver's defaults: `undefined` sent as null, functions left out). */
function wireOf(raw: Raw): Scope['wire'] {
  const { ignoreUndefined, serializeFunctions } = raw.bsonOptions ?? {};
  return { ignoreUndefined: ignoreUndefined === true, serializeFunctions: serializeFunctions === true };
}

function passthrough(raw: Raw, name: string, memo: (name: string, make: () => unknown) => unknown): unknown {
  const member: unknown = Reflect.get(raw, name);
  if (name === 'constructor') return member;
  if (typeof member !== 'function') return snapshot(member);
  return memo(name, () => member.bind(raw));
}

/**
 * A frozen copy of a setting (`readPreference`, `writeConcern`, ...), with
 * its prototype: the driver's own object is shared by every collection of
 * the client, and changing it would change how every tenant reads or writes.
 */
function snapshot(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(snapshot));
  const copy = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
  for (const [name, inner] of Object.entries(value)) copy[name] = snapshot(inner);
  return Object.freeze(copy);
}

/** A refused method throws when called (rejects, when the driver's is async); any other member throws when read. */
function refused(raw: Raw, name: string): unknown {
  const member: unknown = Reflect.get(Object.getPrototypeOf(raw), name);
  const fail = () => refuse(`${name} reaches beyond one tenant`);
  if (typeof member !== 'function') return fail();
  return member instanceof AsyncFunction ? async () => fail() : fail;
}
