/**
 * purge: removes the tombstones under one retired or dropped key and frees
 * the key. Documents that stale handles wrote into them (possible on servers
 * that do not enforce the tombstone, such as FerretDB v1) are moved to the
 * tenant's current storage (retired keys of a live tenant) or discarded and
 * counted (dropped tenants).
 */
import { TenancyError } from '../errors.js';
import type { KeyClaim } from './claims.js';
import type { Lease } from './journal.js';
import { begin, type OperationContext, type Outcome, underLease } from './operation.js';

/** What {@link purgeTombstones} did. */
export interface PurgeReport {
  /** Keys whose tombstones were removed; each is free for new tenants again. */
  readonly purged: number;
  /** Documents found in tombstones and moved to their (renamed) tenant. */
  readonly moved: number;
  /** Documents found in tombstones of dropped tenants and discarded. */
  readonly discarded: number;
  /** Keys skipped because another operation held their tenant. */
  readonly skipped: number;
}

export async function purgeTombstones(ctx: OperationContext, before: Date): Promise<PurgeReport> {
  const report = { purged: 0, moved: 0, discarded: 0, skipped: 0 };
  for (const claim of await ctx.keys.withStates(['retired', 'dropped'], before)) {
    try {
      const found = await purgeOne(ctx, claim);
      report.purged += 1;
      if (claim.state === 'retired') report.moved += found;
      else report.discarded += found;
    } catch (error) {
      if (!(error instanceof TenancyError && error.code === 'CONFLICT')) throw error;
      report.skipped += 1;
    }
  }
  return report;
}

async function purgeOne(ctx: OperationContext, claim: KeyClaim): Promise<number> {
  const lease = await begin(ctx, claim.tenantId, 'purge', { key: claim._id });
  return underLease(ctx, lease, () => finishPurge(ctx, lease));
}

async function finishPurge(ctx: OperationContext, lease: Lease): Promise<number> {
  const claim = (await ctx.keys.keysOf(lease._id)).find((c) => c._id === lease.data.key);
  let found = 0;
  if (claim && claim.state !== 'active') {
    const tenant = claim.state === 'retired' ? await ctx.registry.findById(lease._id) : null;
    found = await ctx.storage.sweep(claim.storage, tenant?.status === 'active' ? tenant.storage : null);
    await ctx.storage.remove(claim.storage);
    await ctx.keys.release(claim._id, lease._id);
  }
  await ctx.journal.end(lease);
  return found;
}

/** Settles an interrupted purge by finishing it. */
export async function settlePurge(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  await finishPurge(ctx, lease);
  return 'rolled-forward';
}
