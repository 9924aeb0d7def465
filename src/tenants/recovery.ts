/**
 * recover: takes over and settles every operation whose holder died, then
 * settles tenants left in a transitional status with no operation under way.
 */
import { TenancyError } from '../errors.js';
import { settleCreate } from './create.js';
import { settleDrop } from './drop.js';
import type { Lease } from './lease.js';
import type { OperationContext, Outcome } from './operation.js';
import { settlePurge } from './purge.js';
import { settleRename } from './rename.js';
import { inTransition, repairTenant, settleRepair } from './repair.js';
import { settleStatus } from './status.js';

/** What {@link TenantManager.recover} settled, and what it could not settle yet. */
export interface RecoveryReport {
  /**
   * Operations settled: interrupted ones (their op), and tenants found in a
   * transitional status with no operation under way (`repair`).
   */
  readonly operations: ReadonlyArray<{ tenantId: string; op: string; outcome: Outcome }>;
  /**
   * Operations not settled this time, each with the reason as a coded error:
   * `CONFLICT` when another process is recovering it right now, `STORAGE`
   * when the database failed. They stay journaled for the next `recover()`.
   */
  readonly failed: ReadonlyArray<{ tenantId: string; op: string; error: TenancyError }>;
}

export async function recoverAll(ctx: OperationContext): Promise<RecoveryReport> {
  const operations: Array<{ tenantId: string; op: string; outcome: Outcome }> = [];
  const failed: Array<{ tenantId: string; op: string; error: TenancyError }> = [];
  const attempt = async (tenantId: string, op: string, settle: () => Promise<Outcome | null>) => {
    try {
      const outcome = await settle();
      if (outcome) operations.push({ tenantId, op, outcome });
      else failed.push({ tenantId, op, error: new TenancyError('CONFLICT', 'Another process is settling it') });
    } catch (error) {
      // One entry that cannot settle now (a storage failure) must not keep the others, or init(), from finishing.
      failed.push({ tenantId, op, error: toTenancyError(error) });
    }
  };
  for (const entry of await ctx.journal.expired()) {
    await attempt(entry._id.toHexString(), entry.op, async () => {
      const lease = await ctx.journal.takeOver(entry);
      return lease && ctx.settle(lease);
    });
  }
  // A record in a transitional status with no operation under way was stranded (by a late write of a stalled holder).
  for (const doc of await ctx.registry.inTransition()) {
    const outcome = await repairTenant(ctx, doc._id, inTransition).catch((error: unknown) => {
      failed.push({ tenantId: doc._id.toHexString(), op: 'repair', error: toTenancyError(error) });
      return null;
    });
    if (outcome) operations.push({ tenantId: doc._id.toHexString(), op: 'repair', outcome });
  }
  return { operations, failed };
}

/** Fences the tenant's record against older leases, then finishes or undoes the operation. */
export async function settleOperation(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  await ctx.registry.fence(lease);
  switch (lease.op) {
    case 'create':
      return settleCreate(ctx, lease);
    case 'rename':
      return settleRename(ctx, lease);
    case 'drop':
      return settleDrop(ctx, lease);
    case 'purge':
      return settlePurge(ctx, lease);
    case 'status':
      return settleStatus(ctx, lease);
    case 'repair':
      return settleRepair(ctx, lease);
  }
}

function toTenancyError(error: unknown): TenancyError {
  return error instanceof TenancyError ? error : new TenancyError('STORAGE', 'Recovery failed', { cause: error });
}
