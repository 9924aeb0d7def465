/**
 * rename. With stable physical names (the default) it is one registry
 * update. With `renameStorage` the storage follows the name: the record
 * takes the new name (`renaming`), a new key is claimed, the collections are
 * renamed inside their database (no document is copied) with tombstones left
 * at the old names, the record points at the new storage (`active`) and the
 * old key is retired. Interrupted after the name changed, it is finished.
 */
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { tenantExists } from './create.js';
import type { Lease } from './journal.js';
import { type ParsedName, parseName } from './names.js';
import { begin, type OperationContext, type Outcome, step, underLease } from './operation.js';
import type { TenantDocument } from './types.js';

export function tenantNotFound(): TenancyError<'TENANT_NOT_FOUND'> {
  return new TenancyError('TENANT_NOT_FOUND');
}

export async function renameTenant(ctx: OperationContext, id: ObjectId, parsed: ParsedName): Promise<TenantDocument> {
  const lease = await begin(ctx, id, 'rename', { name: parsed.name });
  return underLease(ctx, lease, async () => {
    const doc = await ctx.registry.findById(id);
    if (!doc) {
      await ctx.journal.end(lease);
      throw tenantNotFound();
    }
    const moves = ctx.storage.renamesStorage && doc.slug !== parsed.slug;
    const renamed = await ctx.registry.update(id, ['active'], {
      name: parsed.name,
      nameKey: parsed.nameKey,
      updatedAt: ctx.clock(),
      ...(moves ? { status: 'renaming' as const } : {}),
    });
    if (renamed === null || renamed === 'name-taken') {
      await ctx.journal.end(lease);
      throw renamed === null ? new TenancyError('TENANT_UNAVAILABLE') : tenantExists();
    }
    if (!moves) {
      await ctx.journal.end(lease);
      return renamed;
    }
    return moveStorage(ctx, await step(ctx, lease, 'renamed', { fromKey: doc.key }), renamed);
  });
}

/** The physical half of a rename with `renameStorage`; idempotent, so recovery reruns it. */
async function moveStorage(ctx: OperationContext, lease: Lease, doc: TenantDocument): Promise<TenantDocument> {
  const slug = parseName(doc.name).slug;
  const fresh = (await ctx.keys.ofTenant(doc._id)).find((c) => c.state === 'active' && c._id !== doc.key);
  const key = fresh?._id ?? (await ctx.keys.claim(slug, doc._id, (k) => ctx.storage.locate(k), ctx.clock()));
  let current = await step(ctx, lease, 'key-claimed', { key });
  const known = (current.data.names as string[] | undefined) ?? [];
  const names = [...new Set([...known, ...(await ctx.storage.inventory(doc.storage))])];
  current = await step(ctx, current, 'inventoried', { names });
  const to = ctx.storage.locate(key);
  await ctx.storage.move(doc.storage, to, names);
  current = await step(ctx, current, 'moved');
  const active = await ctx.registry.update(doc._id, ['renaming'], {
    key,
    slug,
    storage: to,
    status: 'active',
    updatedAt: ctx.clock(),
  });
  if (active === null || active === 'name-taken')
    throw new TenancyError('CONFLICT', 'The organization changed underneath');
  current = await step(ctx, current, 'activated');
  await ctx.keys.setState(doc.key, doc._id, 'retired', ctx.clock());
  await ctx.journal.end(current);
  return active;
}

/** Settles an interrupted rename: finished once the name changed, else dropped. */
export async function settleRename(ctx: OperationContext, lease: Lease): Promise<Outcome> {
  const doc = await ctx.registry.findById(lease._id);
  if (doc?.status === 'renaming') {
    await moveStorage(ctx, lease, doc);
    return 'rolled-forward';
  }
  const fromKey = lease.data.fromKey as string | undefined;
  for (const claim of doc ? await ctx.keys.ofTenant(doc._id) : []) {
    if (claim.state !== 'active' || claim._id === doc?.key) continue;
    // The old key of a finished move is retired; a key claimed for a move that never happened is freed.
    if (claim._id === fromKey) await ctx.keys.setState(claim._id, lease._id, 'retired', ctx.clock());
    else await ctx.keys.release(claim._id, lease._id);
  }
  await ctx.journal.end(lease);
  return doc?.name === lease.data.name ? 'rolled-forward' : 'rolled-back';
}
