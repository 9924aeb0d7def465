/**
 * drop: lease, mark the record `dropping`, remove the tenant's admins, list the storage, remove it
 * (tombstones stay at its names), delete the record, mark the keys
 * `dropped`, free the name. Interrupted after the mark, it is finished.
 */
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Lease } from './lease.js';
import { begin, type OperationContext, type Outcome, underLease } from './operation.js';

export async function dropTenant(ctx: OperationContext, id: ObjectId): Promise<boolean> {
  const lease = await begin(ctx, id, 'drop', {});
  return underLease(
    ctx,
    lease,
    async () => {
      const marked = await ctx.registry.update(lease, ['active', 'suspended', 'dropping'], {
        status: 'dropping',
        updatedAt: ctx.clock(),
      });
      if (!marked) {
        const exists = await ctx.registry.findById(id, lease);
        await lease.end();
        if (exists) throw new TenancyError('TENANT_UNAVAILABLE');
        return false;
      }
      await lease.advance('marked');
      await finishDrop(ctx, lease);
      return true;
    },
    async () => true,
  );
}

async function finishDrop(ctx: OperationContext, lease: Lease): Promise<void> {
  const doc = await ctx.registry.findById(lease.tenantId, lease);
  // Admins go first, so nobody can sign in to a tenant that is going away.
  await ctx.extensions.removeOwned(lease, lease.tenantId);
  await lease.advance('owned-removed');
  if (doc) {
    const known = (lease.data.names as string[] | undefined) ?? [];
    const layout = ctx.layouts.of(doc.storage);
    const names = [...new Set([...known, ...(await layout.inventory(lease, doc.storage))])];
    await lease.advance('inventoried', { names });
    await layout.destroy(lease, doc.storage, names);
    await lease.advance('destroyed');
    await ctx.registry.delete(lease);
    await lease.advance('unregistered');
  }
  for (const claim of await ctx.keys.keysOf(lease.tenantId, lease)) {
    await ctx.keys.setState(lease, claim._id, 'dropped', ctx.clock());
  }
  await ctx.names.releaseAllBut(lease, undefined);
  await lease.end();
}

/** Settles an interrupted drop: undone before the record was marked, finished after. */
export async function settleDrop(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease.tenantId, lease);
  if (doc && doc.status !== 'dropping') {
    await lease.end();
    return 'rolled-back';
  }
  await finishDrop(ctx, lease);
  return 'rolled-forward';
}
