/**
 * What every journaled operation shares: the context it runs in, taking the
 * tenant's lease, and settling (finishing or undoing) an operation that
 * stopped half-way, whether its holder died or one of its steps failed.
 */
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import type { KeyClaims, NameClaims } from './claims.js';
import type { Extensions } from './extensions.js';
import type { Journal } from './journal.js';
import type { Layouts } from './layouts.js';
import { type Lease, leaseLost, type OperationKind } from './lease.js';
import type { Registry } from './registry.js';

/** How `recover()` settled an interrupted operation. */
export type Outcome = 'rolled-forward' | 'rolled-back';

export interface OperationContext {
  readonly registry: Registry;
  readonly names: NameClaims;
  readonly keys: KeyClaims;
  readonly journal: Journal;
  /** What extensions keep per tenant, removed with it. */
  readonly extensions: Extensions;
  /** The layouts: the default one for new tenants, and each tenant's own through its storage. */
  readonly layouts: Layouts;
  readonly clock: Clock;
  /** Finishes or undoes an operation whose lease this process holds (its record fenced first). */
  readonly settle: (lease: Lease) => Promise<Outcome>;
}

/**
 * Takes the tenant's lease for `op`. A dead holder's expired entry is
 * settled first.
 *
 * @throws {@link TenancyError} `CONFLICT` while a live operation holds the tenant.
 */
export async function begin(
  ctx: OperationContext,
  tenantId: ObjectId,
  op: OperationKind,
  data: Record<string, unknown>,
): Promise<Lease> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const lease = await ctx.journal.begin(tenantId, op, data);
    if (lease !== 'expired') return lease;
    await recoverEntry(ctx, tenantId);
  }
  throw new TenancyError('CONFLICT', 'Another operation on this organization keeps taking its lease');
}

/**
 * Runs the body of an operation under its lease, after taking the lease's
 * epoch and reporting its first step. On an unexpected failure the
 * operation is settled at once (finished or undone, as `recover()` would),
 * by the same process under a renewed lease, so a call of its own that
 * timed out and lands later is refused; if even that fails, the journal
 * keeps it for `recover()`. When the settlement finished the operation,
 * `finished` says what the caller gets (a completed operation is not
 * reported as failed); otherwise the failure is. A lost lease is reported as
 * `CONFLICT`.
 */
export async function underLease<T>(
  ctx: OperationContext,
  lease: Lease,
  body: () => Promise<T>,
  finished?: () => Promise<T | undefined>,
): Promise<T> {
  try {
    await lease.takeEpoch();
    await lease.announce();
    return await body();
  } catch (error) {
    if (lease.ended || (error instanceof TenancyError && error.code === 'CONFLICT')) throw error;
    const renewed = await lease.renew().then(
      () => true,
      (renewal: unknown) => (renewal instanceof TenancyError && renewal.code === 'CONFLICT' ? false : undefined),
    );
    if (renewed === false) throw leaseLost(error);
    const outcome = renewed ? await ctx.settle(lease).catch(() => undefined) : undefined;
    const result = outcome === 'rolled-forward' && finished ? await finished().catch(() => undefined) : undefined;
    if (result !== undefined) return result;
    throw error;
  }
}

/**
 * Settles the tenant's journal entry if its holder died (its lease expired);
 * `true` when it settled one.
 */
export async function recoverEntry(ctx: OperationContext, tenantId: ObjectId): Promise<boolean> {
  const [entry] = await ctx.journal.expired(tenantId);
  const lease = entry ? await ctx.journal.takeOver(entry) : null;
  if (lease) await ctx.settle(lease);
  return lease !== null;
}
