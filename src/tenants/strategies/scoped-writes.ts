/**
 * Writes through a tenant-scoped collection: updates that cannot change the
 * tenant field and whose upserts insert it, index keys that start with it,
 * and `bulkWrite` operations scoped one by one.
 */
import type { Document, IndexDescription } from 'mongodb';
import { TenancyError } from '../../errors.js';
import { scopeUpdatePipeline } from './scoped-pipeline.js';
import {
  checkCollation,
  isRecord,
  plain,
  refuse,
  type Scope,
  scopeFilter,
  stamp,
  touches,
  words,
} from './scoped-rules.js';

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
