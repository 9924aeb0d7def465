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

/** The listeners of one manager. @internal */
export class TenantChanges {
  readonly #listeners = new Set<TenantChangeListener>();

  /** Adds a listener; the function returned removes it. */
  on(listener: TenantChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(change: TenantChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A cache's listener failing must not fail the operation that already happened.
      }
    }
  }
}
