/**
 * How callers name a tenant: by id or by name, never one mistaken for the
 * other. Ids are public (tokens and URLs carry them) and anyone may name an
 * organization with 24 hex digits, so a string is only ever read as an id,
 * and a name must be given as `{ name }`.
 */
import { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { isHexId } from '../internal/ids.js';
import { parseName } from './names.js';

/**
 * A tenant, by id or by name:
 * - a string: the tenant's id (24 hex digits), never a name;
 * - `{ id }`: the same (a {@link Tenant} will do);
 * - `{ name }`: its display name, or any spelling with the same name key (`ACME corp` finds `Acme Corp`).
 */
export type TenantRef = string | { readonly id: string } | { readonly name: string };

/** A parsed {@link TenantRef}. @internal */
export type TenantKey = { readonly id: ObjectId } | { readonly nameKey: string };

function invalid(message: string): TenancyError<'INVALID_INPUT'> {
  return new TenancyError('INVALID_INPUT', message, { details: { field: 'tenant' } });
}

function parseId(value: unknown): ObjectId {
  if (!isHexId(value)) {
    throw invalid('A tenant id is 24 lowercase hex digits; to look a tenant up by name, pass { name }');
  }
  return ObjectId.createFromHexString(value);
}

/**
 * Reads a {@link TenantRef}.
 *
 * @throws {@link TenancyError} `INVALID_INPUT` for a string that is not an id or an object with neither `id` nor `name`;
 * `INVALID_NAME` for `{ name }` with an invalid name.
 */
export function parseRef(ref: unknown): TenantKey {
  if (typeof ref === 'string') return { id: parseId(ref) };
  if (typeof ref === 'object' && ref !== null) {
    if ('id' in ref) return { id: parseId(ref.id) };
    if ('name' in ref) return { nameKey: parseName(ref.name).nameKey };
  }
  throw invalid('A tenant is referred to by its id, { id } or { name }');
}
