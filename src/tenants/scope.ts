/**
 * A tenant's data, as application code reaches it: `scope(tenant)` builds
 * driver handles from the tenant's record, with no round trip.
 */
import type { Collection, Document } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { StorageDriver } from './strategies/strategy.js';
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
 * The scope of an active tenant record placed by `storage`.
 *
 * @throws {@link TenancyError} `TENANT_UNAVAILABLE` when the record is not `active` or not of this layout.
 */
export function scopeOf(storage: StorageDriver, tenant: Tenant): TenantScope {
  if (tenant?.status !== 'active' || tenant.storage?.strategy !== storage.kind) {
    throw new TenancyError('TENANT_UNAVAILABLE', 'Only an active tenant record of this manager can be scoped');
  }
  return Object.freeze({
    tenant,
    collection: <T extends Document = Document>(name?: string) => storage.collection<T>(tenant.storage, name),
  });
}
