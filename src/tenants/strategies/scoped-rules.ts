/**
 * The rules every rewrite of a tenant-scoped collection shares: what a scope
 * is, how a filter is restricted to the tenant, how a document gets the
 * tenant field, which collations are safe, and refusing what cannot be
 * scoped (`UNSCOPED_OPERATION`). Every rewrite works on canonical copies
 * (scoped-canonical.ts) and fails closed: a shape it does not know is
 * refused, never forwarded as it is.
 */
import type { Document } from 'mongodb';
import { TenancyError } from '../../errors.js';

/** A set of the space-separated names in `list`. */
export function words(list: string): ReadonlySet<string> {
  return new Set(list.split(' '));
}

/** What the rewrites know of a tenant: a validated `ScopeRule`, plus the field's path prefix. */
export interface Scope {
  readonly field: string;
  readonly value: string;
  readonly physical: (logical: string) => string | null;
  /** `field + '.'`: a path under the tenant field. */
  readonly under: string;
  /** How the raw collection serializes what it sends (`ignoreUndefined`, `serializeFunctions`). */
  readonly wire: { readonly ignoreUndefined: boolean; readonly serializeFunctions: boolean };
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
 * `value` (part of a canonical copy) as a document: a plain object, not an
 * array or a BSON value.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` otherwise.
 */
export function plain(value: unknown, what: string): Document {
  return isRecord(value) ? value : refuse(`${what} must be a plain document`);
}

/** Whether any key, at any depth of a canonical value (documents and arrays), is one `matches` accepts. */
export function hasKey(value: unknown, matches: (key: string) => boolean): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some((item) => hasKey(item, matches));
  return Object.entries(value).some(([key, inner]) => matches(key) || hasKey(inner, matches));
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
 * `filter` (a canonical copy, or nothing) restricted to the tenant. Top-level
 * conditions of a filter are all conjunctive, so adding the tenant field
 * beside them cannot be widened by any of them (`$or`, `$expr`, ...); when the
 * filter names the field itself it goes under `$and` instead. The flat form
 * keeps `_id` lookups on a server's fast path, and keeps an upsert's equality
 * fields where every server copies them.
 */
export function scopeFilter(scope: Scope, given: Document | undefined): Document {
  if (given === undefined) return tenantMatch(scope);
  const filter = fenceFilter(scope, given);
  if (!Object.hasOwn(filter, scope.field)) return { ...filter, [scope.field]: scope.value };
  if (filter[scope.field] === scope.value) return filter; // the tenant's equality (in a copy), ANDed with the rest
  return { $and: [tenantMatch(scope), filter] };
}

/** The logical operators whose conditions are filters themselves. */
const LOGICAL: ReadonlySet<string> = words('$and $or $nor');

/**
 * A filter (canonical) whose expressions run only on the tenant's documents.
 * A server may test a filter's conditions in any order, and may test a
 * document the tenant condition rejects (a collection scan): an `$expr` that
 * fails on another tenant's document (a division by zero, a conversion)
 * would fail the call, telling that such a document exists. Each `$expr`
 * becomes `$and: [<tenant's equality>, expr]`, and an aggregation `$and`
 * stops at its first false operand (documented), so the expression is never
 * evaluated on another tenant's document. The equality reads `$$ROOT`, which
 * no `let` can rebind (a `let` may bind `CURRENT`, which `$field` reads:
 * {@link checkLet} refuses that). In a `$match` stage (`inStage`) a document
 * without the field passes the fence too: after a `$group` or a `$project`
 * the documents are the tenant's, reshaped, and none carries another
 * tenant's value. `$where` (JavaScript run on each document, deprecated) is
 * refused.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for `$where`.
 */
export function fenceFilter(scope: Scope, filter: Document, inStage = false): Document {
  const fenced: Document = {};
  for (const key of Object.keys(filter)) {
    const value: unknown = filter[key];
    if (key === '$where') refuse('$where runs JavaScript on every document, the other tenants\u2019 included');
    if (key === '$expr') fenced[key] = { $and: [fence(scope, inStage), value] };
    else if (LOGICAL.has(key) && Array.isArray(value)) {
      fenced[key] = value.map((condition: unknown) =>
        isRecord(condition) ? fenceFilter(scope, condition, inStage) : condition,
      );
    } else fenced[key] = value;
  }
  return fenced;
}

/** The expression that holds on the tenant's documents (and, in a stage, on documents without the field). */
function fence(scope: Scope, inStage: boolean): Document {
  const field = `$$ROOT.${scope.field}`;
  const mine = { $eq: [field, { $literal: scope.value }] };
  return inStage ? { $or: [mine, { $eq: [{ $type: field }, 'missing'] }] } : mine;
}

/**
 * A `let` (canonical: the command's, or a `$lookup`'s) must not bind
 * `CURRENT` or `ROOT`: `CURRENT` is what `$field` reads, and rebinding it
 * would let an expression read a document of its choosing instead of the
 * one being tested.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for such a `let`.
 */
export function checkLet(value: unknown): void {
  if (value === undefined || value === null) return;
  const names = Object.keys(plain(value, 'a let'));
  if (names.includes('CURRENT') || names.includes('ROOT')) refuse('a let that binds CURRENT or ROOT');
}

/**
 * A sort (canonical: a document, a field name, or `[name, direction]`
 * pairs) must not name `$natural`: it makes the server read the collection
 * in storage order, every tenant's documents included.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a `$natural` sort.
 */
export function checkSort(sort: unknown): void {
  const names = (value: unknown): unknown[] => {
    if (typeof value === 'string') return [value];
    if (Array.isArray(value)) return value.flatMap((item) => (Array.isArray(item) ? [item[0]] : names(item)));
    return isRecord(value) ? Object.keys(value) : [];
  };
  if (names(sort).includes('$natural')) refuse('a $natural sort reads every tenant\u2019s documents');
}

/**
 * A query's `hint` (canonical) must be an index key that starts with the
 * tenant field: the index's bounds then hold the scan to the tenant's
 * documents. `$natural`, `_id` and other keys would make the server read
 * every tenant's documents; an index name cannot be checked without a
 * round trip.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for any other hint.
 */
export function checkHint(scope: Scope, hint: unknown): void {
  if (hint === undefined || hint === null) return;
  const first = isRecord(hint) ? Object.keys(hint)[0] : undefined;
  if (first !== scope.field) {
    refuse(`a hint must be an index key that starts with ${scope.field} (not an index name, _id or $natural)`);
  }
}

/** Options of a find by `_id` that leave the returned document whole (no projection, no collation, no raw BSON). */
const WHOLE_DOCUMENT_OPTIONS = words('session readPreference readConcern maxTimeMS comment signal timeoutMS');
const ID_TYPES: ReadonlySet<unknown> = new Set(['ObjectId', 'Binary', 'Long', 'Double', 'Decimal128']);

/**
 * Whether a findOne (canonical filter and options) matches one `_id` value
 * alone: at most one document, so checking its tenant field on the client
 * gives what the tenant condition would, and the server keeps its `_id` fast
 * path (FerretDB v1 scans the collection for any other filter).
 */
export function byIdAlone(filter: Document | undefined, options: Document | undefined): boolean {
  if (filter === undefined) return false;
  let keys = 0;
  for (const key in filter) if (key !== '_id' || ++keys > 1) return false;
  const id: unknown = filter._id;
  const identity =
    typeof id === 'string' ||
    typeof id === 'number' ||
    id instanceof Date ||
    ID_TYPES.has((id as { _bsontype?: unknown } | null)?._bsontype);
  if (!identity || options === undefined) return identity;
  for (const key in options) if (!WHOLE_DOCUMENT_OPTIONS.has(key)) return false;
  return true;
}

/** A number a canonical copy holds (a number, or a `Double` or `Long`), else NaN. */
function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  const bson = value as { _bsontype?: unknown; value?: unknown; toNumber?: () => number } | null;
  if (bson?._bsontype === 'Double') return bson.value as number;
  if (bson?._bsontype === 'Long') return (bson.toNumber as () => number).call(bson);
  return Number.NaN;
}

/**
 * A collation (canonical) under which two distinct strings can compare equal
 * would widen the tenant condition: refused, as is anything not a document.
 * Strength 3 and above also compare case and accents, so two different
 * tenant ids (the ObjectId hex strings the library stores) never compare
 * equal under them.
 */
export function checkCollation(collation: unknown): void {
  if (collation === undefined || collation === null) return;
  const { strength, numericOrdering, alternate } = plain(collation, 'a collation');
  if (
    (strength !== undefined && !(numberOf(strength) >= 3)) ||
    (numericOrdering !== undefined && numericOrdering !== false) ||
    (alternate !== undefined && alternate !== 'non-ignorable')
  ) {
    refuse('a collation that can make distinct strings equal (strength < 3, numericOrdering, alternate: shifted)');
  }
}

/** The document (a canonical copy) with the tenant field; one naming another value is refused. */
export function stamp(scope: Scope, doc: Document): Document {
  const current = doc[scope.field];
  if (current !== undefined && current !== scope.value) refuse(`a document names another ${scope.field}`);
  return { ...doc, [scope.field]: scope.value };
}
