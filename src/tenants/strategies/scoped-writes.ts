/**
 * Writes through a tenant-scoped collection (canonical copies): updates that
 * cannot change the tenant field and whose upserts insert it, documents that
 * carry it, index keys that start with it, and `bulkWrite` operations scoped
 * one by one.
 */
import type { Document, IndexDescription } from 'mongodb';
import { TenancyError } from '../../errors.js';
import { canonical, canonicalDocument, isMapLike, pairsOfMap, type Wire } from './scoped-canonical.js';
import { copyOptions } from './scoped-options.js';
import { scopeUpdatePipeline } from './scoped-pipeline.js';
import { isRecord, plain, refuse, type Scope, scopeFilter, stamp, touches, words } from './scoped-rules.js';

/**
 * A document to insert or replace with, canonical and carrying the tenant
 * field. A Map is refused (the driver would give the Map an `_id` property its
 * serialization leaves out), as is an array or anything that is not a document.
 */
export function scopeDocument(scope: Scope, document: unknown, wire: Wire): Document {
  if (Array.isArray(document) || isMapLike(document)) refuse('a document must be a plain document');
  return stamp(scope, canonicalDocument(document, wire, 'a document'));
}

/** The caller's filter, canonical, restricted to the tenant (no filter: the tenant's documents). */
export function scopeGivenFilter(scope: Scope, filter: unknown, wire: Wire): Document {
  if (filter === undefined || filter === null) return scopeFilter(scope, undefined);
  return scopeFilter(scope, canonicalDocument(filter, wire, 'a filter'));
}

/** The caller's update, canonical, scoped by {@link scopeUpdate}. */
export function scopeGivenUpdate(scope: Scope, update: unknown, upsert: unknown, wire: Wire): Document | Document[] {
  return scopeUpdate(scope, canonical(update, wire, 'an update'), upsert);
}

const UPDATE_OPERATORS: ReadonlySet<string> = words(
  '$currentDate $inc $min $max $mul $rename $set $setOnInsert $unset $addToSet $pop $pull $push $pullAll $bit',
);

/**
 * An update (a canonical copy) that cannot change the tenant field (only
 * `$set`/`$setOnInsert` to the tenant's own value name it), and whose upsert
 * inserts the field: the server builds an upsert's document from the
 * filter's equalities, and not every server copies those under `$and`, so
 * `$setOnInsert` says it.
 */
export function scopeUpdate(scope: Scope, update: unknown, upsert: unknown): Document | Document[] {
  if (Array.isArray(update)) return scopeUpdatePipeline(scope, update);
  const operators = Object.entries(plain(update, 'an update'));
  if (operators.length === 0) refuse('an update must name update operators');
  let setsField = false;
  for (const [operator, operand] of operators) {
    if (!UPDATE_OPERATORS.has(operator)) refuse(`${operator} is not an update operator`);
    for (const [path, argument] of Object.entries(plain(operand, operator))) {
      if (operator === '$rename' && typeof argument !== 'string') refuse('$rename takes a field name');
      if (operator === '$rename' && touches(scope, argument)) refuse(`$rename onto ${scope.field}`);
      if (!touches(scope, path)) continue;
      const same = path === scope.field && argument === scope.value;
      if (!same || (operator !== '$set' && operator !== '$setOnInsert')) refuse(`an update changes ${scope.field}`);
      setsField = true;
    }
  }
  const u = update as Document;
  if (!upsert || setsField) return u;
  return { ...u, $setOnInsert: { ...u.$setOnInsert, [scope.field]: scope.value } };
}

/** Directions that make a two-element array one [name, direction] pair, as the driver decides ('hashed' is not one). */
const PAIR_DIRECTIONS: ReadonlySet<unknown> = new Set(['2d', '2dsphere', 'text', 'geoHaystack']);

/** The driver's index-key forms (of a canonical copy), in order, read as the driver reads them. */
function indexKey(spec: unknown): Map<string, unknown> {
  const key = new Map<string, unknown>();
  const tuple = (p: unknown[]) => p.length === 2 && (typeof p[1] === 'number' || PAIR_DIRECTIONS.has(p[1]));
  const parts = !Array.isArray(spec) || tuple(spec) ? [spec] : spec;
  for (const part of parts) {
    if (typeof part === 'string') key.set(part, 1);
    else if (Array.isArray(part) && typeof part[0] === 'string') key.set(part[0], part[1] ?? 1);
    else if (isRecord(part)) for (const [name, direction] of Object.entries(part)) key.set(name, direction);
    else refuse('an index key must be a field name, a [name, direction] pair, an object or a Map');
  }
  return key;
}

/**
 * The key (as given: a Map keeps its order) with the tenant field first:
 * indexes are shared, and per tenant (a unique index is unique per tenant).
 */
export function scopeIndexKey(scope: Scope, spec: unknown, wire: Wire): Map<string, unknown> {
  const key = indexKey(canonical(pairsOfMap(spec), wire, 'an index key'));
  return tenantFirst(scope, key);
}

function tenantFirst(scope: Scope, key: Map<string, unknown>): Map<string, unknown> {
  const names = [...key.keys()];
  if (names.length === 0) refuse('an index key must name a field');
  if (names[0] === scope.field) return key;
  if (names.some((name) => touches(scope, name))) refuse(`an index key may name ${scope.field} only first`);
  return new Map([[scope.field, 1], ...key]);
}

/** `createIndexes` descriptions, each copied by its allow-list and its key scoped (see {@link scopeIndexKey}). */
export function scopeIndexes(scope: Scope, specs: unknown): IndexDescription[] {
  if (!Array.isArray(specs)) refuse('createIndexes takes an array of index descriptions');
  return Array.from(specs, (spec: unknown) => {
    if (typeof spec !== 'object' || spec === null) refuse('an index description must be a document');
    const { options: description } = copyOptions(scope, 'indexDescription', spec);
    const key = tenantFirst(scope, indexKey((description as Document).key));
    return { ...description, key } as IndexDescription;
  });
}

/**
 * One `bulkWrite` operation scoped as its single-operation method is, its
 * fields copied by an allow-list; each inserted document goes into
 * `inserted` with its copy.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for an unknown kind or what its method refuses.
 */
export function scopeBulkOperation(
  scope: Scope,
  operation: unknown,
  wire: Wire,
  inserted: Array<[unknown, Document]>,
): Document {
  if (typeof operation !== 'object' || operation === null) refuse('a bulkWrite operation must be a document');
  const kinds: string[] = [];
  for (const kind in operation) kinds.push(kind);
  if (kinds.length !== 1) refuse('a bulkWrite operation names exactly one kind');
  const kind = kinds[0] as string;
  const given: unknown = (operation as Document)[kind];
  if (typeof given !== 'object' || given === null) refuse(`bulkWrite ${kind} must be a document`);
  if (kind === 'insertOne') {
    const original: unknown = (given as Document).document ?? given; // the legacy form: the model is the document
    const document = scopeDocument(scope, original, wire);
    inserted.push([original, document]);
    return { insertOne: { document } };
  }
  if (!BULK_KINDS.has(kind)) refuse(`${kind} is not a bulkWrite operation`);
  const { options: model } = copyOptions({ ...scope, wire }, `bulk.${kind}`, given) as { options: Document };
  const filter = model.filter === undefined || model.filter === null ? undefined : plain(model.filter, 'a filter');
  const scoped: Document = { ...model, filter: scopeFilter(scope, filter) };
  if (kind === 'replaceOne') scoped.replacement = stamp(scope, plain(model.replacement, 'a replacement'));
  if (kind === 'updateOne' || kind === 'updateMany') scoped.update = scopeUpdate(scope, model.update, model.upsert);
  return { [kind]: scoped };
}

const BULK_KINDS = words('updateOne updateMany replaceOne deleteOne deleteMany');
