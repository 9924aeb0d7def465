/**
 * What every journaled operation shares: the context it runs in, taking the
 * tenant's lease, journaling a step, and settling (finishing or undoing) an
 * operation that stopped half-way.
 */
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import type { KeyClaims, NameClaims } from './claims.js';
import type { Journal, Lease, OperationKind } from './journal.js';
import type { Registry } from './registry.js';
import type { StorageDriver } from './strategies/strategy.js';

/** A journaled step, as reported to the `afterStep` hook. */
export interface StepEvent {
  readonly op: OperationKind;
  readonly step: string;
  readonly tenantId: string;
}

/** How `recover()` settled an interrupted operation. */
export type Outcome = 'rolled-forward' | 'rolled-back';

export interface OperationContext {
  readonly registry: Registry;
  readonly names: NameClaims;
  readonly keys: KeyClaims;
  readonly journal: Journal;
  readonly storage: StorageDriver;
  readonly clock: Clock;
  readonly afterStep: (event: StepEvent) => void | Promise<void>;
  /** Finishes or undoes an operation whose lease this process holds. */
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
    const lease = await ctx.journal.begin(tenantId, op, data, ctx.clock());
    if (lease !== 'expired') return lease;
    await recoverEntry(ctx, tenantId);
  }
  throw new TenancyError('CONFLICT', 'Another operation on this organization keeps taking its lease');
}

/** Journals a step (renewing the lease), runs the `afterStep` hook, and checks the lease still holds. */
export async function step(
  ctx: OperationContext,
  lease: Lease,
  name: string,
  data: Record<string, unknown> = {},
): Promise<Lease> {
  const next = await ctx.journal.step(lease, name, data, ctx.clock());
  await ctx.afterStep({ op: lease.op, step: name, tenantId: lease._id.toHexString() });
  ctx.journal.assertHeld(next, ctx.clock());
  return next;
}

/**
 * Runs the body of an operation under its lease, after reporting its first
 * step. On an unexpected failure
 * the operation is settled at once (finished or undone, as `recover()`
 * would); if even that fails, the journal keeps it for `recover()`.
 */
export async function underLease<T>(ctx: OperationContext, lease: Lease, body: () => Promise<T>): Promise<T> {
  try {
    await ctx.afterStep({ op: lease.op, step: lease.step, tenantId: lease._id.toHexString() });
    ctx.journal.assertHeld(lease, ctx.clock());
    return await body();
  } catch (error) {
    if (!(error instanceof TenancyError && error.code === 'CONFLICT')) {
      await settleNow(ctx, lease).catch(() => undefined);
    }
    throw error;
  }
}

/** Settles from the journal as stored (the caller's copy may predate later steps). */
async function settleNow(ctx: OperationContext, lease: Lease): Promise<void> {
  const current = await ctx.journal.reload(lease);
  if (current) await ctx.settle(current);
}

/**
 * Settles the tenant's journal entry if its holder died (its lease expired);
 * `true` when it settled one.
 */
export async function recoverEntry(ctx: OperationContext, tenantId: ObjectId): Promise<boolean> {
  const now = ctx.clock();
  const [entry] = await ctx.journal.expired(now, tenantId);
  const lease = entry ? await ctx.journal.takeOver(entry, now) : null;
  if (lease) await ctx.settle(lease);
  return lease !== null;
}
