/**
 * create: lease, claim the name, claim a storage key, insert the registry
 * record (`creating`), create the storage, mark it `active`. Interrupted, it
 * is undone: nobody was told the tenant exists.
 */
import { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Lease } from './journal.js';
import type { ParsedName } from './names.js';
import { begin, type OperationContext, type Outcome, recoverEntry, step, underLease } from './operation.js';
import type { TenantDocument } from './types.js';

export function tenantExists(): TenancyError<'TENANT_EXISTS'> {
  return new TenancyError('TENANT_EXISTS', undefined, { details: { field: 'name' } });
}

export function changedUnderneath(): TenancyError<'CONFLICT'> {
  return new TenancyError('CONFLICT', 'The organization changed underneath this operation');
}

/**
 * Work done inside a create, after the storage exists and before the tenant
 * becomes `active`; what it returns is saved on the record. If it throws, or
 * the process dies, the create is undone, and with it every document of
 * the tenant in the tenant-owned master collections.
 */
export type BeforeActivate = (doc: TenantDocument) => Promise<Partial<Pick<TenantDocument, 'adminId'>>>;

export async function createTenant(
  ctx: OperationContext,
  parsed: ParsedName,
  metadata: Record<string, unknown>,
  beforeActivate?: BeforeActivate,
): Promise<TenantDocument> {
  const id = new ObjectId();
  let lease = await begin(ctx, id, 'create', { name: parsed.name });
  return underLease(ctx, lease, async () => {
    if (!(await ctx.names.claim(parsed.nameKey, id, (holder) => recoverEntry(ctx, holder)))) {
      await ctx.journal.end(lease); // nothing else was done yet
      throw tenantExists();
    }
    lease = await step(ctx, lease, 'name-claimed');
    const key = await ctx.keys.claim(parsed.slug, id, (k) => ctx.storage.locate(k), ctx.clock());
    lease = await step(ctx, lease, 'key-claimed', { key });
    const now = ctx.clock();
    const doc: TenantDocument = {
      _id: id,
      name: parsed.name,
      nameKey: parsed.nameKey,
      slug: parsed.slug,
      key,
      status: 'creating',
      storage: ctx.storage.locate(key),
      adminId: null,
      metadata,
      createdAt: now,
      updatedAt: now,
    };
    await ctx.registry.insert(doc);
    lease = await step(ctx, lease, 'registered');
    await ctx.storage.provision(doc.storage);
    lease = await step(ctx, lease, 'provisioned');
    const extra = beforeActivate ? await beforeActivate(doc) : {};
    if (beforeActivate) lease = await step(ctx, lease, 'prepared');
    const active = await ctx.registry.update(id, ['creating'], { ...extra, status: 'active', updatedAt: ctx.clock() });
    if (!active) throw changedUnderneath();
    // The tenant exists from here on, so the caller hears success even if the bookkeeping below fails:
    // an entry left behind is settled (kept) by the next recover().
    lease = await step(ctx, lease, 'activated').catch(() => lease);
    await ctx.journal.end(lease).catch(() => undefined);
    return active;
  });
}

/** Settles an interrupted create: kept if it reached `active`, undone otherwise. */
export async function settleCreate(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease._id);
  if (doc?.status === 'active') {
    await ctx.journal.end(lease);
    return 'rolled-forward';
  }
  await undoCreate(ctx, lease);
  return 'rolled-back';
}

async function undoCreate(ctx: OperationContext, lease: Lease): Promise<void> {
  const doc = await ctx.registry.findById(lease._id);
  await ctx.registry.deleteOwned(lease._id);
  if (doc) {
    await ctx.storage.remove(doc.storage);
    await ctx.registry.delete(lease._id);
  }
  await ctx.keys.releaseAllBut(lease._id, undefined);
  await ctx.names.releaseAllBut(lease._id, undefined);
  await ctx.journal.end(lease);
}
