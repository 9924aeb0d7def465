/**
 * Work that runs outside a request, for one tenant or for each: a job
 * carries a captured tenant (its id), and the worker looks the tenant up
 * again before running, so a job never runs for a tenant that has since been
 * dropped or suspended, and never runs with no tenant at all.
 */
import { z } from 'zod';
import { validate } from '../internal/validate.js';
import { requireActive } from '../tenants/availability.js';
import type { TenantRef } from '../tenants/refs.js';
import type { TenantManager } from '../tenants/tenant-manager.js';
import type { Tenant } from '../tenants/types.js';
import { runWithTenant } from './tenant-context.js';

/**
 * Looks `ref` up and runs `fn` inside its tenant context, with the tenant
 * as it is now (a rename since the job was queued is seen).
 *
 * @example
 * ```ts
 * worker.on('job', ({ tenant, orderId }) =>
 *   withTenant(tenants, tenant, async () => {
 *     await tenants.scope().collection('orders').updateOne({ _id: orderId }, { $set: { invoiced: true } });
 *   }),
 * );
 * ```
 * @returns What `fn` returns.
 * @throws {@link TenancyError} `TENANT_NOT_FOUND` when the tenant is gone; `TENANT_UNAVAILABLE` when it is
 * suspended or mid-operation (then with `details.retryAfter`); `INVALID_INPUT` for a malformed reference;
 * `STORAGE`; whatever `fn` throws. `fn` does not run unless the tenant is active.
 */
export async function withTenant<T>(tenants: TenantManager, ref: TenantRef, fn: (tenant: Tenant) => T): Promise<T> {
  const tenant = requireActive(await tenants.get(ref));
  return await runWithTenant(tenant, () => fn(tenant));
}

/** Options of {@link forEachTenant}. */
export interface ForEachTenantOptions {
  /** How many tenants run at once, 1 to 64. Default 4. */
  concurrency?: number;
  /** Runs only the active tenants this accepts (the others count as `skipped`). */
  filter?: (tenant: Tenant) => boolean;
  /** Stops starting tenants once aborted; those already running finish. */
  signal?: AbortSignal;
  /** Called after each tenant, with the counts so far. */
  onProgress?: (progress: ForEachTenantProgress) => void;
}

/** How far a {@link forEachTenant} run has come. */
export interface ForEachTenantProgress {
  readonly completed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** What a {@link forEachTenant} run did. */
export interface ForEachTenantReport extends ForEachTenantProgress {
  /** Each tenant whose `fn` threw, with what it threw; the others ran on. */
  readonly failures: ReadonlyArray<{ readonly tenant: Tenant; readonly error: unknown }>;
  /** Whether the signal stopped the run before every tenant was started. */
  readonly aborted: boolean;
}

const forEachSchema = z
  .object({
    concurrency: z.number().int().min(1).max(64).default(4),
    filter: z.custom<(tenant: Tenant) => boolean>((v) => typeof v === 'function', 'a function').optional(),
    signal: z.instanceof(AbortSignal).optional(),
    onProgress: z
      .custom<(progress: ForEachTenantProgress) => void>((v) => typeof v === 'function', 'a function')
      .optional(),
  })
  .strict();

/**
 * Runs `fn` for every active tenant, each inside its tenant context, at
 * most `concurrency` at once, walking the registry page by page (oldest
 * first). One tenant's failure is reported and does not stop the others.
 * Tenants that are not active when their page is read are skipped.
 *
 * @example
 * ```ts
 * const report = await forEachTenant(tenants, { concurrency: 8 }, async () => {
 *   await tenants.scope().collection('sessions').deleteMany({ expiresAt: { $lt: new Date() } });
 * });
 * console.log(report.completed, report.failed);
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` for invalid options; `STORAGE` when the registry cannot be read.
 */
export async function forEachTenant(
  tenants: TenantManager,
  options: ForEachTenantOptions,
  fn: (tenant: Tenant) => unknown,
): Promise<ForEachTenantReport> {
  const { concurrency, filter, signal, onProgress } = validate(
    forEachSchema,
    options ?? {},
    'INVALID_OPTIONS',
    'forEachTenant options',
  );
  const counts = { completed: 0, failed: 0, skipped: 0 };
  const failures: Array<{ tenant: Tenant; error: unknown }> = [];
  const one = async (tenant: Tenant) => {
    try {
      await runWithTenant(tenant, () => fn(tenant));
      counts.completed++;
    } catch (error) {
      counts.failed++;
      failures.push({ tenant, error });
    }
    onProgress?.({ ...counts });
  };
  let after: string | undefined;
  do {
    const page = await tenants.list({ limit: 1_000, ...(after === undefined ? {} : { after }) });
    const due = page.tenants.filter((t) => t.status === 'active' && (filter?.(t) ?? true));
    counts.skipped += page.tenants.length - due.length;
    if (!(await runBounded(due, concurrency, one, signal))) return { ...counts, failures, aborted: true };
    after = page.next ?? undefined;
  } while (after !== undefined);
  return { ...counts, failures, aborted: false };
}

/** Runs `work` over `items`, `limit` at a time; false when the signal stopped it before every item started. */
async function runBounded<I>(
  items: readonly I[],
  limit: number,
  work: (item: I) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !signal?.aborted) await work(items[next++] as I);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return next >= items.length;
}
