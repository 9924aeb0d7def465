/**
 * What a tenant-scoped collection (`scopedCollection`) sends instead of what
 * it is given: filters restricted to the tenant; aggregation pipelines whose
 * every path to documents starts with the tenant's `$match`; documents and
 * updates that carry the tenant field and cannot change it; index keys that
 * start with it; change-stream pipelines; collations checked.
 *
 * Every rewrite fails closed: a shape it does not know is refused with
 * `UNSCOPED_OPERATION`, never forwarded as it is.
 *
 * @packageDocumentation
 */
import type { Document, IndexDescription } from 'mongodb';
import { TenancyError } from '../../errors.js';

/** A set of the space-separated names in `list`. */
function words(list: string): ReadonlySet<string> {
  return new Set(list.split(' '));
}

/** What the rewrites know of a tenant: a validated `ScopeRule`, plus the field's path prefix. */
export interface Scope {
  readonly field: string;
  readonly value: string;
  readonly physical: (logical: string) => string | null;
  /** `field + '.'`: a path under the tenant field. */
  readonly under: string;
}

/**
 * Refuses the operation being scoped, saying why.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION`, always.
 */
export function refuse(why: string): never {
  throw new TenancyError('UNSCOPED_OPERATION', `A tenant-scoped collection refuses this operation: ${why}`);
}

/** Whether an object literal (or a `null`-prototype object): its own keys are all the serializer sends. */
export function isRecord(value: unknown): value is Document {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `value` as a document whose keys can be read: an object that is not an
 * array or a Map, and has no `toBSON` (the serializer would send what
 * `toBSON` returns instead of what the handle checked).
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` otherwise.
 */
export function plain(value: unknown, what: string): Document {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Map ||
    typeof (value as Document).toBSON === 'function'
  ) {
    refuse(`${what} must be a plain document`);
  }
  return value as Document;
}

/** Whether `path` is the tenant field or a path under it. */
export function touches(scope: Scope, path: unknown): boolean {
  return typeof path === 'string' && (path === scope.field || path.startsWith(scope.under));
}

/** The tenant's equality condition, a fresh object each time (the driver keeps what it is given). */
export function tenantMatch(scope: Scope): Document {
  return { [scope.field]: scope.value };
}

/**
 * `filter` restricted to the tenant. Top-level conditions of a filter are all
 * conjunctive, so adding the tenant field beside them cannot be widened by
 * any of them (`$or`, `$expr`, ...); when the filter names the field itself
 * (or its keys cannot be trusted) it goes under `$and` instead. The flat form
 * keeps `_id` lookups on a server's fast path, and keeps an upsert's equality
 * fields where every server copies them.
 */
export function scopeFilter(scope: Scope, filter: unknown): Document {
  if (filter === undefined || filter === null) return tenantMatch(scope);
  if (isRecord(filter) && typeof filter.toBSON !== 'function') {
    if (!Object.hasOwn(filter, scope.field)) return { ...filter, [scope.field]: scope.value };
    if (filter[scope.field] === scope.value) return filter; // already the tenant's equality, ANDed with the rest
  }
  return { $and: [tenantMatch(scope), filter] };
}

/** Options of a find by `_id` that leave the returned document whole (no projection, no collation, no raw BSON). */
const WHOLE_DOCUMENT_OPTIONS = words('session readPreference readConcern maxTimeMS comment signal timeoutMS');
const ID_TYPES: ReadonlySet<unknown> = new Set(['ObjectId', 'Binary', 'Int32', 'Long', 'Double', 'Decimal128']);

/**
 * Whether a findOne matches one `_id` value alone: at most one document, so
 * checking its tenant field on the client gives what the tenant condition
 * would, and the server keeps its `_id` fast path (FerretDB v1 scans the
 * collection for any other filter).
 */
export function byIdAlone(filter: unknown, options: unknown): boolean {
  if (!isRecord(filter)) return false;
  let keys = 0;
  for (const key in filter) if (key !== '_id' || ++keys > 1) return false;
  const id: unknown = filter._id;
  const identity =
    typeof id === 'string' ||
    typeof id === 'number' ||
    id instanceof Date ||
    ID_TYPES.has((id as { _bsontype?: unknown } | null)?._bsontype);
  if (!identity || options === undefined || options === null) return identity;
  for (const key in options) if (!WHOLE_DOCUMENT_OPTIONS.has(key)) return false;
  return true;
}

/** The one operator of a stage, and its argument. */
function stageOf(stage: unknown): [string, unknown] {
  const keys = Object.keys(plain(stage, 'a pipeline stage'));
  if (keys.length !== 1) refuse('a pipeline stage must name exactly one operator');
  const name = keys[0] as string;
  return [name, (stage as Document)[name]];
}

function stages(pipeline: unknown, what: string): unknown[] {
  if (!Array.isArray(pipeline)) refuse(`${what} must be an array of stages`);
  return pipeline;
}

/** Stages that only transform the documents already in the pipeline. */
const TRANSFORMS: ReadonlySet<string> = words(
  '$match $project $addFields $set $unset $group $sort $limit $skip $count $unwind $bucket $bucketAuto ' +
    '$sortByCount $replaceRoot $replaceWith $sample $redact $densify $fill $setWindowFields',
);

const FIRST_ONLY = 'must be the first stage of a pipeline, so the tenant $match cannot go before it';
const WHOLE_COLLECTION = 'reports on the whole shared collection, every tenant included';

/** Known stages that cannot be scoped, and why. */
const REFUSED_STAGES: Readonly<Record<string, string>> = {
  $out: 'writes outside the tenant',
  $merge: 'writes outside the tenant',
  $collStats: WHOLE_COLLECTION,
  $indexStats: WHOLE_COLLECTION,
  $planCacheStats: WHOLE_COLLECTION,
  $currentOp: 'reports on the server, not on one tenant',
  $listSessions: 'reports on the server, not on one tenant',
  $changeStream: 'use watch(), which scopes change streams',
  $documents: FIRST_ONLY,
  $geoNear: FIRST_ONLY,
  $search: FIRST_ONLY,
  $searchMeta: FIRST_ONLY,
  $vectorSearch: FIRST_ONLY,
};

/**
 * An aggregation pipeline that starts with the tenant's `$match`, each stage
 * checked by {@link checkStage}.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a stage that cannot be kept within the tenant.
 */
export function scopePipeline(scope: Scope, pipeline: unknown): Document[] {
  return [{ $match: tenantMatch(scope) }, ...checkStages(scope, pipeline)];
}

function checkStages(scope: Scope, pipeline: unknown): Document[] {
  return stages(pipeline, 'a pipeline').map((stage) => checkStage(scope, stage));
}

/**
 * One stage of a pipeline whose input is already the tenant's: a transforming
 * stage as it is; `$lookup`, `$graphLookup` and `$unionWith` pointed at the
 * physical collection with the tenant's condition on the documents they
 * bring in; `$facet` checked inside; anything else refused.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a stage that cannot be kept within the tenant.
 */
export function checkStage(scope: Scope, stage: unknown): Document {
  const [name, spec] = stageOf(stage);
  switch (name) {
    case '$lookup':
      return { $lookup: lookup(scope, spec) };
    case '$graphLookup':
      return { $graphLookup: graphLookup(scope, spec) };
    case '$unionWith':
      return { $unionWith: unionWith(scope, spec) };
    case '$facet':
      return { $facet: facet(scope, spec) };
  }
  if (TRANSFORMS.has(name)) return stage as Document;
  return refuse(`${name} ${REFUSED_STAGES[name] ?? 'is not a stage known to stay within one tenant'}`);
}

function physical(scope: Scope, logical: unknown, what: string): string {
  if (typeof logical !== 'string') refuse(`${what} must name a collection`);
  return scope.physical(logical) ?? refuse(`${what} "${logical}" is not a tenant collection`);
}

/** Every form (equality, pipeline, both) becomes the pipeline form, whose pipeline starts with the tenant's $match. */
function lookup(scope: Scope, spec: unknown): Document {
  const s = plain(spec, '$lookup');
  const from = physical(scope, s.from, '$lookup.from');
  return { ...s, from, pipeline: scopePipeline(scope, s.pipeline ?? []) };
}

function graphLookup(scope: Scope, spec: unknown): Document {
  const s = plain(spec, '$graphLookup');
  const from = physical(scope, s.from, '$graphLookup.from');
  return { ...s, from, restrictSearchWithMatch: scopeFilter(scope, s.restrictSearchWithMatch) };
}

function unionWith(scope: Scope, spec: unknown): Document {
  const s = typeof spec === 'string' ? { coll: spec } : plain(spec, '$unionWith');
  const coll = physical(scope, s.coll, '$unionWith.coll');
  return { ...s, coll, pipeline: scopePipeline(scope, s.pipeline ?? []) };
}

/** Facets read the stage's input, already the tenant's: check their stages, add no $match. */
function facet(scope: Scope, spec: unknown): Document {
  const facets = Object.entries(plain(spec, '$facet'));
  return Object.fromEntries(facets.map(([name, pipeline]) => [name, checkStages(scope, pipeline)]));
}

const UPDATE_STAGES: ReadonlySet<string> = words('$addFields $set $project $unset $replaceRoot $replaceWith');

/** Whether an update-pipeline stage names the tenant field other than to set it to the tenant's own value. */
function changesField(scope: Scope, name: string, spec: unknown): boolean {
  if (name === '$unset') return ([] as unknown[]).concat(spec).some((path) => touches(scope, path));
  if (name === '$replaceRoot' || name === '$replaceWith') return false; // not decidable: the final $set restores it
  return Object.entries(plain(spec, name)).some(
    ([path, value]) => touches(scope, path) && !(name !== '$project' && path === scope.field && value === scope.value),
  );
}

/**
 * An update pipeline that cannot change the tenant field: a stage naming it
 * is refused, and a final `$set` puts the tenant's value back whatever the
 * stages did (a `$replaceWith` cannot be checked) and gives an upsert's new
 * document the field.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a stage that is not an update stage, or changes the field.
 */
export function scopeUpdatePipeline(scope: Scope, pipeline: readonly unknown[]): Document[] {
  for (const stage of pipeline) {
    const [name, spec] = stageOf(stage);
    if (!UPDATE_STAGES.has(name)) refuse(`${name} is not an update-pipeline stage`);
    if (changesField(scope, name, spec)) refuse(`an update must not change the tenant field ${scope.field}`);
  }
  return [...(pipeline as Document[]), { $set: { [scope.field]: { $literal: scope.value } } }];
}

const CHANGE_STREAM_STAGES: ReadonlySet<string> = words(
  '$addFields $match $project $replaceRoot $replaceWith $redact $set $unset $changeStreamSplitLargeEvent',
);

/**
 * A change-stream pipeline that lets through only events whose document,
 * after or before the change, is the tenant's (see `watch` on the handle).
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a stage a change stream does not take.
 */
export function scopeChangeStream(scope: Scope, pipeline: unknown): Document[] {
  const checked = stages(pipeline, 'a change-stream pipeline').map((stage) => {
    const [name] = stageOf(stage);
    if (!CHANGE_STREAM_STAGES.has(name)) refuse(`${name} is not a change-stream stage`);
    return stage as Document;
  });
  const after = { [`fullDocument.${scope.field}`]: scope.value };
  const before = { [`fullDocumentBeforeChange.${scope.field}`]: scope.value };
  return [{ $match: { $or: [after, before] } }, ...checked];
}

type Options = { collation?: { strength?: number; numericOrdering?: boolean; alternate?: string } } | undefined;

/** A collation under which two distinct strings can compare equal would widen the tenant condition. */
export function checkCollation(options: unknown): void {
  const collation = (options as Options)?.collation;
  if (collation === undefined || collation === null) return;
  const { strength, numericOrdering, alternate } = collation;
  if ((strength !== undefined && strength < 3) || numericOrdering === true || alternate === 'shifted') {
    refuse('a collation that can make distinct strings equal (strength < 3, numericOrdering, alternate: shifted)');
  }
}

/** The document with the tenant field, a shallow copy; one naming another value is refused. */
export function stamp(scope: Scope, document: unknown): Document {
  const doc = plain(document, 'a document');
  const current = doc[scope.field];
  if (current !== undefined && current !== scope.value) refuse(`a document names another ${scope.field}`);
  return { ...doc, [scope.field]: scope.value };
}

const UPDATE_OPERATORS: ReadonlySet<string> = words(
  '$currentDate $inc $min $max $mul $rename $set $setOnInsert $unset $addToSet $pop $pull $push $pullAll $bit',
);

/**
 * An update that cannot change the tenant field (only `$set`/`$setOnInsert`
 * to the tenant's own value name it), and whose upsert inserts the field:
 * the server builds an upsert's document from the filter's equalities, and
 * not every server copies those under `$and`, so `$setOnInsert` says it.
 */
export function scopeUpdate(scope: Scope, update: unknown, upsert: unknown): Document | Document[] {
  if (Array.isArray(update)) return scopeUpdatePipeline(scope, update);
  const operators = Object.entries(plain(update, 'an update'));
  if (operators.length === 0) refuse('an update must name update operators');
  let setsField = false;
  for (const [operator, operand] of operators) {
    if (!UPDATE_OPERATORS.has(operator)) refuse(`${operator} is not an update operator`);
    for (const [path, argument] of Object.entries(plain(operand, operator))) {
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

/** The driver's index-key forms, in order, read as the driver reads them. */
function indexKey(spec: unknown): Map<string, unknown> {
  const key = new Map<string, unknown>();
  const tuple = (p: unknown[]) => p.length === 2 && (typeof p[1] === 'number' || PAIR_DIRECTIONS.has(p[1]));
  const parts = !Array.isArray(spec) || tuple(spec) ? [spec] : spec;
  for (const part of parts) {
    if (typeof part === 'string') key.set(part, 1);
    else if (Array.isArray(part) && typeof part[0] === 'string') key.set(part[0], part[1] ?? 1);
    else if (part instanceof Map) for (const [name, direction] of part) key.set(String(name), direction);
    else if (isRecord(part)) for (const [name, direction] of Object.entries(part)) key.set(name, direction);
    else refuse('an index key must be a field name, a [name, direction] pair, an object or a Map');
  }
  return key;
}

/** The key with the tenant field first: indexes are shared, and per tenant (a unique index is unique per tenant). */
export function scopeIndexKey(scope: Scope, spec: unknown): Map<string, unknown> {
  const key = indexKey(spec);
  const names = [...key.keys()];
  if (names.length === 0) refuse('an index key must name a field');
  if (names[0] === scope.field) return key;
  if (names.some((name) => touches(scope, name))) refuse(`an index key may name ${scope.field} only first`);
  return new Map([[scope.field, 1], ...key]);
}

/** `createIndexes` descriptions, each key scoped by {@link scopeIndexKey}. */
export function scopeIndexes(scope: Scope, specs: unknown): IndexDescription[] {
  if (!Array.isArray(specs)) refuse('createIndexes takes an array of index descriptions');
  return specs.map((spec) => {
    const description = plain(spec, 'an index description');
    return { ...description, key: scopeIndexKey(scope, description.key) } as IndexDescription;
  });
}

/**
 * One `bulkWrite` operation scoped as its single-operation method is; each
 * inserted document goes into `inserted` with its copy.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for an unknown kind or what its method refuses.
 */
export function scopeBulkOperation(scope: Scope, operation: unknown, inserted: Array<[unknown, Document]>): Document {
  const kinds = Object.keys(plain(operation, 'a bulkWrite operation'));
  if (kinds.length !== 1) refuse('a bulkWrite operation names exactly one kind');
  const kind = kinds[0] as string;
  const model = plain((operation as Document)[kind], `bulkWrite ${kind}`);
  if (kind !== 'insertOne') checkCollation(model);
  switch (kind) {
    case 'insertOne': {
      const original = model.document ?? model; // the driver's legacy form: the model is the document
      const document = stamp(scope, original);
      inserted.push([original, document]);
      return { insertOne: { document } };
    }
    case 'updateOne':
    case 'updateMany': {
      const update = scopeUpdate(scope, model.update, model.upsert);
      return { [kind]: { ...model, filter: scopeFilter(scope, model.filter), update } };
    }
    case 'replaceOne': {
      const replacement = stamp(scope, model.replacement);
      return { replaceOne: { ...model, filter: scopeFilter(scope, model.filter), replacement } };
    }
    case 'deleteOne':
    case 'deleteMany':
      return { [kind]: { ...model, filter: scopeFilter(scope, model.filter) } };
  }
  return refuse(`${kind} is not a bulkWrite operation`);
}
