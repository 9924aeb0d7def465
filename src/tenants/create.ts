/**
 * create: lease, claim the name, claim a storage key, insert the registry
 * record (`creating`), create the storage, mark it `active`. Interrupted, it
 * is undone: nobody was told the tenant exists.
 */
import { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { PrepareTenant } from './extensions.js';
import type { Lease } from './lease.js';
import type { ParsedName } from './names.js';
import { begin, type OperationContext, type Outcome, underLease } from './operation.js';
import { type StorageKind, type TenantDocument, toTenant } from './types.js';

export function tenantExists(): TenancyError<'TENANT_EXISTS'> {
  return new TenancyError('TENANT_EXISTS', undefined, { details: { field: 'name' } });
}

export function changedUnderneath(): TenancyError<'CONFLICT'> {
  return new TenancyError('CONFLICT', 'The organization changed underneath this operation');
}

/** Settles the holder of a name someone wants: through its dead operation, or by repairing a claim it outlived. */
export type SettleHolder = (holder: ObjectId, nameKey: string) => Promise<boolean>;

/** A create, its input parsed. */
export interface CreateRequest {
  readonly parsed: ParsedName;
  readonly metadata: Record<string, unknown>;
  /** The layout of the new tenant; the manager's default when absent. */
  readonly layout: StorageKind | undefined;
}

export async function createTenant(
  ctx: OperationContext,
  { parsed, metadata, layout: kind }: CreateRequest,
  settleHolder: SettleHolder,
  prepare?: PrepareTenant,
): Promise<TenantDocument> {
  const id = new ObjectId();
  const lease = await begin(ctx, id, 'create', { name: parsed.name });
  return underLease(
    ctx,
    lease,
    async () => {
      if (!(await ctx.names.claim(lease, parsed.nameKey, (holder) => settleHolder(holder, parsed.nameKey)))) {
        await lease.end(); // nothing else was done yet
        throw tenantExists();
      }
      await lease.advance('name-claimed');
      const layout = kind ? ctx.layouts.of(kind) : ctx.layouts.default;
      const locate = (k: string) => layout.locate(k, id.toHexString());
      const key = await ctx.keys.claim(lease, parsed.slug, locate, ctx.clock());
      await lease.advance('key-claimed', { key });
      const now = ctx.clock();
      const doc: TenantDocument = {
        _id: id,
        name: parsed.name,
        nameKey: parsed.nameKey,
        slug: parsed.slug,
        key,
        status: 'creating',
        storage: locate(key),
        adminId: null,
        metadata,
        createdAt: now,
        updatedAt: now,
      };
      await ctx.registry.insert(lease, doc);
      await lease.advance('registered');
      await layout.provision(lease, doc.storage);
      await lease.advance('provisioned');
      // An extension's own step (the AuthService's first admin), undone with the create if anything fails.
      const extra = prepare ? ((await prepare(toTenant(doc), lease)) ?? {}) : {};
      if (prepare) await lease.advance('prepared');
      const active = await ctx.registry.update(lease, ['creating'], {
        ...(extra.adminId === undefined ? {} : { adminId: extra.adminId }),
        status: 'active',
        updatedAt: ctx.clock(),
      });
      if (!active) throw changedUnderneath();
      // The tenant exists from here on, so the caller hears success even if the bookkeeping below fails:
      // an entry left behind is settled (kept) by the next recover().
      await lease.advance('activated').catch(() => undefined);
      await lease.end().catch(() => undefined);
      return active;
    },
    async () => {
      const doc = await ctx.registry.findById(id);
      return doc?.status === 'active' ? doc : undefined;
    },
  );
}

/** Settles an interrupted create: kept if it reached `active`, undone otherwise. */
export async function settleCreate(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease.tenantId, lease);
  if (doc?.status === 'active') {
    await lease.end();
    return 'rolled-forward';
  }
  await undoCreate(ctx, lease);
  return 'rolled-back';
}

/** Removes all a create may have made; also what is left of a tenant that has no record. */
export async function undoCreate(ctx: OperationContext, lease: Lease): Promise<void> {
  await ctx.extensions.removeOwned(lease, lease.tenantId);
  for (const claim of await ctx.keys.keysOf(lease.tenantId, lease)) {
    // Only an active key can hold storage of a tenant nobody saw; retired and dropped keys hold tombstones.
    if (claim.state === 'active') await ctx.layouts.of(claim.storage).remove(lease, claim.storage);
  }
  await ctx.registry.delete(lease);
  for (const claim of await ctx.keys.keysOf(lease.tenantId, lease)) {
    // Kept, never given out again: a late command of this create can only ever reach this key's names.
    if (claim.state === 'active') await ctx.keys.setState(lease, claim._id, 'purged', ctx.clock());
  }
  await ctx.names.releaseAllBut(lease, undefined);
  await lease.end();
}
