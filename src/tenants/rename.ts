/**
 * rename: lease, claim the new name, point the record at it, free the old
 * name. With stable physical names (the default) that is all. With
 * `renameStorage` the storage follows the name: the record is `renaming`, a
 * new key is claimed, the collections are renamed inside their database (no
 * document is copied) with tombstones left at the old names, the record
 * points at the new storage (`active`) and the old key is retired.
 * Interrupted after the record took the new name, it is finished; before,
 * it is undone.
 */
import { TenancyError } from '../errors.js';
import { changedUnderneath, type SettleHolder, tenantExists } from './create.js';
import type { Lease } from './lease.js';
import { type ParsedName, parseName } from './names.js';
import { begin, type OperationContext, type Outcome, underLease } from './operation.js';
import type { TenantDocument } from './types.js';

export function tenantNotFound(): TenancyError<'TENANT_NOT_FOUND'> {
  return new TenancyError('TENANT_NOT_FOUND');
}

export async function renameTenant(
  ctx: OperationContext,
  doc: Pick<TenantDocument, '_id'>,
  parsed: ParsedName,
  settleHolder: SettleHolder,
): Promise<TenantDocument> {
  const lease = await begin(ctx, doc._id, 'rename', { name: parsed.name, nameKey: parsed.nameKey });
  return underLease(
    ctx,
    lease,
    async () => {
      const current = await ctx.registry.findById(doc._id, lease);
      if (current?.status !== 'active') {
        await lease.end();
        throw current ? new TenancyError('TENANT_UNAVAILABLE') : tenantNotFound();
      }
      if (
        current.nameKey !== parsed.nameKey &&
        !(await ctx.names.claim(lease, parsed.nameKey, (holder) => settleHolder(holder, parsed.nameKey)))
      ) {
        await lease.end();
        throw tenantExists();
      }
      await lease.advance('name-claimed');
      const moves = ctx.layouts.of(current.storage).renamesStorage && current.slug !== parsed.slug;
      const renamed = await ctx.registry.update(lease, ['active'], {
        name: parsed.name,
        nameKey: parsed.nameKey,
        updatedAt: ctx.clock(),
        ...(moves ? { status: 'renaming' as const } : {}),
      });
      if (!renamed) throw changedUnderneath();
      await lease.advance('renamed');
      await ctx.names.releaseAllBut(lease, parsed.nameKey);
      if (moves) return moveStorage(ctx, lease, renamed);
      await lease.end();
      return renamed;
    },
    async () => {
      const renamed = await ctx.registry.findById(doc._id);
      return renamed?.status === 'active' && renamed.nameKey === parsed.nameKey ? renamed : undefined;
    },
  );
}

/** The physical half of a rename with `renameStorage`; idempotent, so recovery reruns it. */
async function moveStorage(ctx: OperationContext, lease: Lease, doc: TenantDocument): Promise<TenantDocument> {
  const slug = parseName(doc.name).slug;
  const layout = ctx.layouts.of(doc.storage);
  const locate = (k: string) => layout.renamed(doc.storage, k);
  const keys = await ctx.keys.keysOf(doc._id, lease);
  const fresh = keys.find((c) => c.state === 'active' && c._id !== doc.key);
  const key = fresh?._id ?? (await ctx.keys.claim(lease, slug, locate, ctx.clock()));
  await lease.advance('key-claimed', { key });
  const known = (lease.data.names as string[] | undefined) ?? [];
  const names = [...new Set([...known, ...(await layout.inventory(lease, doc.storage))])];
  await lease.advance('inventoried', { names });
  const to = locate(key);
  await layout.move(lease, doc.storage, to, names);
  await lease.advance('moved');
  const active = await ctx.registry.update(lease, ['renaming'], {
    key,
    slug,
    storage: to,
    status: 'active',
    updatedAt: ctx.clock(),
  });
  if (!active) throw changedUnderneath();
  await lease.advance('activated');
  await ctx.keys.setState(lease, doc.key, 'retired', ctx.clock());
  await lease.end();
  return active;
}

/** Settles an interrupted rename: finished once the record took the new name, undone before. */
export async function settleRename(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease.tenantId, lease);
  if (!doc) {
    await lease.end();
    return 'rolled-back';
  }
  if (doc.status === 'renaming') {
    await ctx.names.releaseAllBut(lease, doc.nameKey);
    await moveStorage(ctx, lease, doc);
    return 'rolled-forward';
  }
  await tidyClaims(ctx, lease, doc);
  await lease.end();
  return doc.nameKey === lease.data.nameKey ? 'rolled-forward' : 'rolled-back';
}

/**
 * Makes a settled tenant's claims match its record: whichever name the
 * record carries is the one kept; the old key of a finished move holds
 * tombstones and is retired; a key claimed for a move that never happened is
 * purged (kept out of use, as every key once claimed).
 */
export async function tidyClaims(ctx: OperationContext, lease: Lease, doc: TenantDocument): Promise<void> {
  await ctx.names.releaseAllBut(lease, doc.nameKey);
  if (!(await ctx.names.holder(doc.nameKey))) await ctx.names.tryInsert(lease, { _id: doc.nameKey, tenantId: doc._id });
  for (const claim of await ctx.keys.keysOf(doc._id, lease)) {
    if (claim.state !== 'active' || claim._id === doc.key) continue;
    const holdsStorage = (await ctx.layouts.of(claim.storage).inventory(lease, claim.storage)).length > 0;
    await ctx.keys.setState(lease, claim._id, holdsStorage ? 'retired' : 'purged', ctx.clock());
  }
}
