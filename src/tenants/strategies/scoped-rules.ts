/**
 * The rules every rewrite of a tenant-scoped collection shares: what a scope
 * is, how a filter is restricted to the tenant, how a document gets the
 * tenant field, which collations are safe, and refusing what cannot be
 * scoped (`UNSCOPED_OPERATION`). Every rewrite fails closed: a shape it does
 * not know is refused, never forwarded as it is.
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
