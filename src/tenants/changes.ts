/**
 * What this process changed about its tenants, for the caches that keep
 * answers about them (the AuthService's, tenant lookups): each hears of a
 * change as soon as the operation returns. Other processes' changes reach a
 * cache only through its time-to-live.
 */

/** One change a manager made, reported to {@link TenantManager.onChange} listeners once it is done. */
export interface TenantChange {
  readonly kind: 'created' | 'renamed' | 'suspended' | 'resumed' | 'dropped' | 'metadata';
  readonly tenantId: string;
}

/** A listener of {@link TenantChange}s. It should not throw: what it throws is ignored. */
export type TenantChangeListener = (change: TenantChange) => void;
