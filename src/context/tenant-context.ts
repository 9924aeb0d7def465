/**
 * The tenant a piece of work runs for, carried by `AsyncLocalStorage`: set
 * once where a request or a job starts, read anywhere below it (every await,
 * timer and promise started inside keeps it; an event listener runs in the
 * context of whoever emits), never through a module variable that another
 * request could change.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { TenancyError } from '../errors.js';
import type { Tenant } from '../tenants/types.js';

/** A tenant, reduced to what a job payload carries: its immutable id (a `TenantRef`). */
export interface CapturedTenant {
  readonly id: string;
}

const storage = new AsyncLocalStorage<Tenant>();

/**
 * Runs `fn` with `tenant` as the current tenant, for `fn` and everything it
 * starts (awaits, timers, callbacks). Contexts nest: the innermost wins, and
 * the outer one is back once `fn` returns.
 *
 * @example
 * ```ts
 * await runWithTenant(acme, async () => {
 *   await tenants.scope().collection('orders').insertOne({ total: 42 }); // acme's orders
 * });
 * ```
 * @returns What `fn` returns.
 * @throws {@link TenancyError} `INVALID_INPUT` when `tenant` is not a tenant record; whatever `fn` throws.
 */
export function runWithTenant<T>(tenant: Tenant, fn: () => T): T {
  if (typeof tenant?.id !== 'string' || typeof tenant.status !== 'string') {
    throw new TenancyError('INVALID_INPUT', 'runWithTenant takes a tenant record', { details: { field: 'tenant' } });
  }
  return storage.run(tenant, fn);
}

/**
 * The tenant the current work runs for, or `undefined` outside any
 * {@link runWithTenant}.
 *
 * @example
 * ```ts
 * const tenant = currentTenant();
 * if (tenant) console.log(`working for ${tenant.name}`);
 * ```
 * @throws Nothing.
 */
export function currentTenant(): Tenant | undefined {
  return storage.getStore();
}

/**
 * The tenant the current work runs for.
 *
 * @example
 * ```ts
 * const { id } = requireTenant();
 * ```
 * @throws {@link TenancyError} `NO_TENANT_CONTEXT` outside any {@link runWithTenant}: code that needs a tenant
 * was reached without one, a programming error rather than a client's.
 */
export function requireTenant(): Tenant {
  const tenant = storage.getStore();
  if (tenant === undefined) throw new TenancyError('NO_TENANT_CONTEXT');
  return tenant;
}

/**
 * The current tenant as a job payload can carry it: its id, which never
 * changes (a rename keeps it). Give it to `withTenant` in the worker, which
 * looks the tenant up again.
 *
 * @example
 * ```ts
 * await queue.add('invoice', { tenant: captureTenant(), orderId });
 * ```
 * @throws {@link TenancyError} `NO_TENANT_CONTEXT` outside any {@link runWithTenant}.
 */
export function captureTenant(): CapturedTenant {
  return { id: requireTenant().id };
}
