/**
 * purge: removes the tombstones under one retired or dropped key and frees
 * the key. Documents that stale handles wrote into them (possible on servers
 * that do not enforce the tombstone, such as FerretDB v1) are moved to the
 * tenant's current storage (retired keys of an active tenant) or discarded
 * and counted (dropped tenants).
 */
import { TenancyError } from '../errors.js';
import type { KeyClaim } from './claims.js';
import type { Lease } from './lease.js';
import { begin, type OperationContext, type Outcome, underLease } from './operation.js';
import type { StrayCount } from './strategies/tombstone.js';

/** What {@link TenantManager.purgeTombstones} did. */
export interface PurgeReport {
  /** Keys whose tombstones were removed. Their physical names are never given out again (see claims.ts). */
  readonly purged: number;
  /** Documents found in tombstones of renamed tenants and moved to them. */
  readonly moved: number;
  /** Documents found in tombstones of dropped tenants, discarded. */
  readonly discarded: number;
  /** Documents that could not be moved because their tenant holds another with the same `_id` (or a unique index refused them); discarded. */
  readonly conflicts: number;
  /** Keys left for later: another operation held their tenant, or the tenant is mid-operation. */
  readonly skipped: number;
}

export async function purgeTombstones(ctx: OperationContext, before: Date): Promise<PurgeReport> {
  const report = { purged: 0, moved: 0, discarded: 0, conflicts: 0, skipped: 0 };
  for (const claim of await ctx.keys.withStates(['retired', 'dropped'], before)) {
    try {
      const count = await purgeOne(ctx, claim);
      report.purged += 1;
      report.conflicts += count.conflicts;
      if (claim.state === 'retired') report.moved += count.found - count.conflicts;
      else report.discarded += count.found;
    } catch (error) {
      if (!(error instanceof TenancyError && error.code === 'CONFLICT')) throw error;
      report.skipped += 1;
    }
  }
  return report;
}

async function purgeOne(ctx: OperationContext, claim: KeyClaim): Promise<StrayCount> {
  const lease = await begin(ctx, claim.tenantId, 'purge', { key: claim._id });
  return underLease(ctx, lease, () => finishPurge(ctx, lease));
}

async function finishPurge(ctx: OperationContext, lease: Lease): Promise<StrayCount> {
  const claim = (await ctx.keys.keysOf(lease.tenantId, lease)).find((c) => c._id === lease.data.key);
  let count: StrayCount = { found: 0, conflicts: 0 };
  if (claim && (claim.state === 'retired' || claim.state === 'dropped')) {
    const tenant = claim.state === 'retired' ? await ctx.registry.findById(lease.tenantId, lease) : null;
    if (tenant && tenant.status !== 'active') {
      // Strays of a tenant in the middle of an operation wait for the next purge rather than being discarded.
      await lease.end();
      throw new TenancyError('CONFLICT', 'The tenant of this tombstone is being changed');
    }
    const layout = ctx.layouts.of(claim.storage);
    count = await layout.sweep(lease, claim.storage, tenant ? tenant.storage : null);
    await lease.advance('swept');
    await layout.remove(lease, claim.storage);
    await ctx.keys.setState(lease, claim._id, 'purged', ctx.clock());
  }
  await lease.end();
  return count;
}

/** Settles an interrupted purge by finishing it. */
export async function settlePurge(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  await finishPurge(ctx, lease).catch((error: unknown) => {
    if (!(error instanceof TenancyError && error.code === 'CONFLICT')) throw error;
  });
  return 'rolled-forward';
}
