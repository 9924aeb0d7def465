/**
 * A tenant's data, as application code reaches it: `scope(tenant)` builds
 * driver handles from the tenant's record, with no round trip.
 */
import type { Collection, Document } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Layouts } from './layouts.js';
import type { Tenant } from './types.js';

/** A tenant's data, through the ordinary driver API. */
export interface TenantScope {
  readonly tenant: Tenant;
  /**
   * The driver `Collection` for the tenant's default collection, or for a
   * named one (1 to 64 of `[A-Za-z0-9_-]`). No wrapper, no per-call cost.
   *
   * @throws {@link TenancyError} `INVALID_INPUT` for an invalid name.
   */
  collection<T extends Document = Document>(name?: string): Collection<T>;
}

/**
 * The scope of an active tenant record, through its layout.
 *
 * @throws {@link TenancyError} `TENANT_UNAVAILABLE` when the record is not `active` or its layout is unknown.
 */
export function scopeOf(layouts: Layouts, tenant: Tenant): TenantScope {
  if (tenant?.status !== 'active' || typeof tenant.storage !== 'object' || tenant.storage === null) {
    throw new TenancyError('TENANT_UNAVAILABLE', 'Only an active tenant record can be scoped');
  }
  const storage = layouts.of(tenant.storage);
  return Object.freeze({
    tenant,
    collection: <T extends Document = Document>(name?: string) => storage.collection<T>(tenant.storage, name),
  });
}
