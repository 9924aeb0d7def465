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
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { changedUnderneath, tenantExists } from './create.js';
import type { Lease } from './journal.js';
import { type ParsedName, parseName } from './names.js';
import { begin, type OperationContext, type Outcome, recoverEntry, step, underLease } from './operation.js';
import type { TenantDocument } from './types.js';

export function tenantNotFound(): TenancyError<'TENANT_NOT_FOUND'> {
  return new TenancyError('TENANT_NOT_FOUND');
}

export async function renameTenant(ctx: OperationContext, id: ObjectId, parsed: ParsedName): Promise<TenantDocument> {
  let lease = await begin(ctx, id, 'rename', { name: parsed.name, nameKey: parsed.nameKey });
  return underLease(ctx, lease, async () => {
    const doc = await ctx.registry.findById(id);
    if (doc?.status !== 'active') {
      await ctx.journal.end(lease);
      throw doc ? new TenancyError('TENANT_UNAVAILABLE') : tenantNotFound();
    }
    if (
      doc.nameKey !== parsed.nameKey &&
      !(await ctx.names.claim(parsed.nameKey, id, (holder) => recoverEntry(ctx, holder)))
    ) {
      await ctx.journal.end(lease);
      throw tenantExists();
    }
    lease = await step(ctx, lease, 'name-claimed');
    const moves = ctx.storage.renamesStorage && doc.slug !== parsed.slug;
    const renamed = await ctx.registry.update(id, ['active'], {
      name: parsed.name,
      nameKey: parsed.nameKey,
      updatedAt: ctx.clock(),
      ...(moves ? { status: 'renaming' as const } : {}),
    });
    if (!renamed) throw changedUnderneath();
    lease = await step(ctx, lease, 'renamed');
    await ctx.names.releaseAllBut(id, parsed.nameKey);
    if (moves) return moveStorage(ctx, lease, renamed);
    await ctx.journal.end(lease);
    return renamed;
  });
}

/** The physical half of a rename with `renameStorage`; idempotent, so recovery reruns it. */
async function moveStorage(ctx: OperationContext, lease: Lease, doc: TenantDocument): Promise<TenantDocument> {
  const slug = parseName(doc.name).slug;
  // Storage moves inside its own database, whatever the strategy's options say today.
  const locate = (k: string) => ({ ...ctx.storage.locate(k), database: doc.storage.database });
  const fresh = (await ctx.keys.keysOf(doc._id)).find((c) => c.state === 'active' && c._id !== doc.key);
  const key = fresh?._id ?? (await ctx.keys.claim(slug, doc._id, locate, ctx.clock()));
  let current = await step(ctx, lease, 'key-claimed', { key });
  const known = (current.data.names as string[] | undefined) ?? [];
  const names = [...new Set([...known, ...(await ctx.storage.inventory(doc.storage))])];
  current = await step(ctx, current, 'inventoried', { names });
  const to = locate(key);
  await ctx.storage.move(doc.storage, to, names);
  current = await step(ctx, current, 'moved');
  const active = await ctx.registry.update(doc._id, ['renaming'], {
    key,
    slug,
    storage: to,
    status: 'active',
    updatedAt: ctx.clock(),
  });
  if (!active) throw changedUnderneath();
  current = await step(ctx, current, 'activated');
  await ctx.keys.setState(doc.key, doc._id, 'retired', ctx.clock());
  await ctx.journal.end(current);
  return active;
}

/** Settles an interrupted rename: finished once the record took the new name, undone before. */
export async function settleRename(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease._id);
  if (!doc) {
    await ctx.journal.end(lease);
    return 'rolled-back';
  }
  // Whichever name the record carries is the one kept; any other claim of this tenant goes.
  await ctx.names.releaseAllBut(doc._id, doc.nameKey);
  if (doc.status === 'renaming') {
    await moveStorage(ctx, lease, doc);
    return 'rolled-forward';
  }
  for (const claim of await ctx.keys.keysOf(doc._id)) {
    if (claim.state !== 'active' || claim._id === doc.key) continue;
    // The old key of a finished move holds tombstones and is retired; a key claimed for a move that never happened is freed.
    const holdsStorage = (await ctx.storage.inventory(claim.storage)).length > 0;
    if (holdsStorage) await ctx.keys.setState(claim._id, doc._id, 'retired', ctx.clock());
    else await ctx.keys.release(claim._id, doc._id);
  }
  await ctx.journal.end(lease);
  return doc.nameKey === lease.data.nameKey ? 'rolled-forward' : 'rolled-back';
}
