/**
 * repair: brings one tenant's registry record, claims and storage back in
 * line under its lease. It settles what no journal entry describes any more:
 * a record left in a transitional status, or a claim that outlived its
 * operation, as a stalled holder's late insert can leave behind (fencing
 * refuses late updates and deletes, but nothing can refuse an insert of a
 * document that does not exist yet).
 */
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { isTransitional } from './availability.js';
import { settleCreate, undoCreate } from './create.js';
import { settleDrop } from './drop.js';
import type { Lease } from './lease.js';
import { begin, type OperationContext, type Outcome, recoverEntry, underLease } from './operation.js';
import { settleRename, tidyClaims } from './rename.js';
import type { TenantDocument } from './types.js';

/**
 * Repairs the tenant under a lease of its own; `null` when a live operation
 * holds it (that operation settles it), or when `only` says the tenant, as
 * found under the lease, needs nothing (the scan that chose it was stale).
 */
export async function repairTenant(
  ctx: OperationContext,
  tenantId: ObjectId,
  only?: (doc: TenantDocument | null) => boolean,
): Promise<Outcome | null> {
  let lease: Lease;
  try {
    lease = await begin(ctx, tenantId, 'repair', {});
  } catch (error) {
    if (error instanceof TenancyError && error.code === 'CONFLICT') return null;
    throw error;
  }
  return underLease(ctx, lease, async () => {
    if (only && !only(await ctx.registry.findById(tenantId, lease))) {
      await lease.end();
      return null;
    }
    return settleRepair(ctx, lease);
  });
}

/** Whether a record is in a transitional status (a stranded one, when no operation holds it). */
export const inTransition = (doc: TenantDocument | null): boolean => !!doc && isTransitional(doc.status);

/** Settles a repair: the record, if any, decides; a tenant with no record keeps nothing but its tombstones. */
export async function settleRepair(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease.tenantId, lease);
  if (!doc) {
    await undoCreate(ctx, lease);
    return 'rolled-back';
  }
  if (doc.status === 'creating') return settleCreate(ctx, lease);
  if (doc.status === 'renaming') return settleRename(ctx, lease);
  if (doc.status === 'dropping') return settleDrop(ctx, lease);
  await tidyClaims(ctx, lease, doc);
  await lease.end();
  return 'rolled-forward';
}

/**
 * Settles the tenant that holds a name someone else wants, when that claim
 * may be left over: its operation died (its lease expired), or its record
 * does not carry the name. `true` when it settled something, so the claim
 * is worth trying again.
 */
export async function settleHolder(ctx: OperationContext, holder: ObjectId, nameKey: string): Promise<boolean> {
  if (await recoverEntry(ctx, holder)) return true;
  const doc = await ctx.registry.findById(holder);
  if (doc && doc.nameKey === nameKey && !isTransitional(doc.status)) return false;
  return (await repairTenant(ctx, holder)) !== null;
}
