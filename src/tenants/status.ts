/**
 * suspend and resume: one registry update under the tenant's lease. A
 * suspended tenant keeps its data and its name; it cannot be scoped or signed
 * in to, and its tokens stop verifying, until it is resumed.
 */
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Lease } from './lease.js';
import { begin, type OperationContext, type Outcome, underLease } from './operation.js';
import type { TenantDocument } from './types.js';

export async function setSuspended(ctx: OperationContext, id: ObjectId, suspended: boolean): Promise<TenantDocument> {
  const lease = await begin(ctx, id, 'status', { suspended });
  return underLease(
    ctx,
    lease,
    async () => {
      const [from, to] = suspended ? (['active', 'suspended'] as const) : (['suspended', 'active'] as const);
      const updated = await ctx.registry.update(lease, [from, to], { status: to, updatedAt: ctx.clock() });
      await lease.end();
      if (updated) return updated;
      throw (await ctx.registry.findById(id))
        ? new TenancyError('TENANT_UNAVAILABLE')
        : new TenancyError('TENANT_NOT_FOUND');
    },
    async () => {
      const doc = await ctx.registry.findById(id);
      return doc?.status === target(suspended) ? doc : undefined;
    },
  );
}

const target = (suspended: unknown) => (suspended ? 'suspended' : 'active');

/** A status change is one update: nothing to finish or undo; it happened if the record has the status asked for. */
export async function settleStatus(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease.tenantId, lease);
  await lease.end();
  return doc?.status === target(lease.data.suspended) ? 'rolled-forward' : 'rolled-back';
}
