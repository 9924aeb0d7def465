/**
 * drop: lease, mark the record `dropping`, remove the tenant's admins, list the storage, remove it
 * (tombstones stay at its names), delete the record, mark the keys
 * `dropped`, free the name. Interrupted after the mark, it is finished.
 */
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Lease } from './journal.js';
import { begin, type OperationContext, type Outcome, step, underLease } from './operation.js';

export async function dropTenant(ctx: OperationContext, id: ObjectId): Promise<boolean> {
  const lease = await begin(ctx, id, 'drop', {});
  return underLease(ctx, lease, async () => {
    const marked = await ctx.registry.update(id, ['active', 'suspended', 'dropping'], {
      status: 'dropping',
      updatedAt: ctx.clock(),
    });
    if (!marked) {
      const exists = await ctx.registry.findById(id);
      await ctx.journal.end(lease);
      if (exists) throw new TenancyError('TENANT_UNAVAILABLE');
      return false;
    }
    await finishDrop(ctx, await step(ctx, lease, 'marked'));
    return true;
  });
}

async function finishDrop(ctx: OperationContext, lease: Lease): Promise<void> {
  const doc = await ctx.registry.findById(lease._id);
  // Admins go first, so nobody can sign in to a tenant that is going away.
  await ctx.registry.deleteOwned(lease._id);
  let current = await step(ctx, lease, 'owned-removed');
  if (doc) {
    const known = (current.data.names as string[] | undefined) ?? [];
    const names = [...new Set([...known, ...(await ctx.storage.inventory(doc.storage))])];
    current = await step(ctx, current, 'inventoried', { names });
    await ctx.storage.destroy(doc.storage, names);
    current = await step(ctx, current, 'destroyed');
    await ctx.registry.delete(lease._id);
    current = await step(ctx, current, 'unregistered');
  }
  for (const claim of await ctx.keys.keysOf(lease._id)) {
    await ctx.keys.setState(claim._id, lease._id, 'dropped', ctx.clock());
  }
  await ctx.names.releaseAllBut(lease._id, undefined);
  await ctx.journal.end(current);
}

/** Settles an interrupted drop: undone before the record was marked, finished after. */
export async function settleDrop(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease._id);
  if (doc && doc.status !== 'dropping') {
    await ctx.journal.end(lease);
    return 'rolled-back';
  }
  await finishDrop(ctx, lease);
  return 'rolled-forward';
}
