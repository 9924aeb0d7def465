/**
 * The one copy of a caller's value that a tenant-scoped collection checks and
 * sends: the value as the BSON serializer reads it (`toBSON`, Map-like
 * objects, getters, proxies and non-enumerable properties all resolved once),
 * read back as plain objects and arrays. Whatever the caller's object does
 * afterwards, the command carries what was checked.
 */
import { BSON, type Document } from 'mongodb';
import { isRecord, refuse } from './scoped-rules.js';

/** The serializer settings that decide what the driver sends: the collection's, or a call's own. */
export interface Wire {
  readonly ignoreUndefined: boolean;
  readonly serializeFunctions: boolean;
}

/**
 * The settings the driver would serialize a command with: the call's
 * `ignoreUndefined` and `serializeFunctions` when given (booleans), else the
 * collection's.
 */
export function wireOf(base: Wire, options?: Document): Wire {
  const ignoreUndefined = options?.ignoreUndefined;
  const serializeFunctions = options?.serializeFunctions;
  if (typeof ignoreUndefined !== 'boolean' && typeof serializeFunctions !== 'boolean') return base;
  return {
    ignoreUndefined: typeof ignoreUndefined === 'boolean' ? ignoreUndefined : base.ignoreUndefined,
    serializeFunctions: typeof serializeFunctions === 'boolean' ? serializeFunctions : base.serializeFunctions,
  };
}

/** Numbers, regular expressions and every other BSON type read back as the types that serialize the same way. */
const READ_BACK = { promoteValues: false, bsonRegExp: true } as const;

/**
 * `value` serialized as the driver would serialize it, and read back: plain
 * objects, arrays, and BSON values that serialize to the same bytes (`Int32`
 * read back as a number; `Double`, `Long`, `BSONRegExp` kept). Never the
 * caller's object.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a value the serializer refuses (a cycle, a foreign
 * `_bsontype`, a key with a null byte) or whose reading throws.
 */
export function canonical(value: unknown, wire: Wire, what: string): unknown {
  let bytes: Uint8Array;
  try {
    bytes = BSON.serialize({ v: value }, wire);
  } catch (error) {
    return refuse(`${what} cannot be serialized (${(error as Error)?.message ?? String(error)})`);
  }
  return promoteInt32(BSON.deserialize(bytes, READ_BACK).v);
}

/**
 * `value` as a document (a plain object once serialized), canonical.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for anything else (an array, a string, a BSON value).
 */
export function canonicalDocument(value: unknown, wire: Wire, what: string): Document {
  const copy = canonical(value, wire, what);
  return isRecord(copy) ? copy : refuse(`${what} must be a document`);
}

/** Int32 values become numbers (which serialize as Int32 again), in place, through plain objects and arrays. */
function promoteInt32(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if ((value as { _bsontype?: unknown })._bsontype === 'Int32') return (value as BSON.Int32).value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = promoteInt32(value[i]);
  } else if (isRecord(value)) {
    for (const key of Object.keys(value)) {
      const next = promoteInt32(value[key]);
      if (next === value[key]) continue;
      // A key named __proto__ is an own property of the copy: assigning it would set the prototype instead.
      if (key === '__proto__') Object.defineProperty(value, key, { value: next, writable: true, enumerable: true });
      else value[key] = next;
    }
  }
  return value;
}

/** A Map, or an object the serializer takes for one (its `Symbol.toStringTag` says `Map`). */
export function isMapLike(value: unknown): boolean {
  if (value instanceof Map) return true;
  try {
    return (
      typeof value === 'object' && value !== null && Symbol.toStringTag in value && value[Symbol.toStringTag] === 'Map'
    );
  } catch {
    return true;
  }
}

/** A real Map's entries as `[key, value]` pairs (kept in order, which a plain object would not keep for numeric names). */
export function pairsOfMap(value: unknown): unknown {
  return value instanceof Map ? Array.from(value) : value;
}
