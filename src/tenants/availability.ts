/**
 * Whether a tenant can be worked for now, as every layer answers it: active;
 * mid-operation (retryable, with `details.retryAfter`); suspended; or gone.
 */
import { TenancyError } from '../errors.js';
import { TRANSITIONAL } from './registry.js';
import type { Tenant, TenantStatus } from './types.js';

/** Seconds after which a caller that met an organization mid-operation may ask again. */
export const TRANSITION_RETRY_SECONDS = 1;

/** Whether a status is one an operation in progress passes through (not `active`, not `suspended`). */
export function isTransitional(status: TenantStatus): boolean {
  return TRANSITIONAL.includes(status);
}

/** `TENANT_UNAVAILABLE` for an organization mid-operation: retryable, with `details.retryAfter`. */
export function tenantInTransition(): TenancyError<'TENANT_UNAVAILABLE'> {
  return new TenancyError('TENANT_UNAVAILABLE', undefined, { details: { retryAfter: TRANSITION_RETRY_SECONDS } });
}

/**
 * The tenant, when it exists and is active: what a request or a job may
 * work for. Use it on what a lookup or a resolver returned.
 *
 * @example
 * ```ts
 * const acme = requireActive(await tenants.get({ name: 'Acme Corp' }));
 * ```
 * @throws {@link TenancyError} `TENANT_NOT_FOUND` for `null`; `TENANT_UNAVAILABLE` when it is suspended, or
 * mid-operation (then with `details.retryAfter`).
 */
export function requireActive(tenant: Tenant | null): Tenant {
  if (tenant === null) throw new TenancyError('TENANT_NOT_FOUND');
  if (isTransitional(tenant.status)) throw tenantInTransition();
  if (tenant.status !== 'active') throw new TenancyError('TENANT_UNAVAILABLE', 'The organization is suspended');
  return tenant;
}
