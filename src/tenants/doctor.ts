/**
 * doctor: checks the registry against the claims, the journal and the
 * storage, and with `fix` repairs what is safe to repair. It finds what
 * nothing else can prevent: a stalled holder's late insert (a claim, a
 * record, an admin, a collection) or late storage command (a dropped
 * tombstone) landing after the operation was settled by another process.
 *
 * Every repair of a tenant runs under that tenant's lease and looks again
 * at what it repairs (the scan may be stale by then); a collection no key
 * owns is dropped only after its key is taken out of use for good, so no
 * create can claim it in between.
 */
import type { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { direct } from '../internal/execute.js';
import type { KeyClaim } from './claims.js';
import { begin, type OperationContext, recoverEntry, underLease } from './operation.js';
import { TRANSITIONAL } from './registry.js';
import { inTransition, repairTenant, settleRepair } from './repair.js';
import type { StorageDriver, StoragePiece } from './strategies/strategy.js';
import type { TenantDocument } from './types.js';

/** What {@link TenantManager.doctor} can find. */
export type FindingKind =
  | 'stuck-operation'
  | 'stale-takeover'
  | 'stranded-tenant'
  | 'orphan-name'
  | 'orphan-key'
  | 'orphan-owned'
  | 'missing-name'
  | 'missing-storage'
  | 'broken-tombstone'
  | 'orphan-storage';

/** One inconsistency. */
export interface Finding {
  readonly kind: FindingKind;
  /** The tenant concerned, when there is one. */
  readonly tenantId?: string;
  /** What is affected: a name key, a storage key, a collection or an operation. */
  readonly subject: string;
  /** Whether `doctor({ fix: true })` repaired it. */
  readonly fixed: boolean;
}

/** What {@link TenantManager.doctor} found (empty when all is well). */
export interface DoctorReport {
  readonly findings: readonly Finding[];
}

interface Scan {
  readonly ctx: OperationContext;
  readonly records: Map<string, TenantDocument>;
  readonly busy: Set<string>;
  readonly found: Finding[];
  readonly fix: boolean;
}

export async function runDoctor(ctx: OperationContext, fix: boolean): Promise<DoctorReport> {
  const [records, entries] = await Promise.all([ctx.registry.all(), ctx.journal.all()]);
  const now = ctx.clock().getTime();
  const scan: Scan = {
    ctx,
    records: new Map(records.map((r) => [r._id.toHexString(), r])),
    busy: new Set(entries.filter((e) => e.expiresAt.getTime() > now).map((e) => e._id.toHexString())),
    found: [],
    fix,
  };
  for (const entry of entries.filter((e) => e.expiresAt.getTime() <= now)) {
    await note(scan, 'stuck-operation', entry._id, `${entry.op}:${entry.step}`, () => recoverEntry(ctx, entry._id));
  }
  for (const claim of await ctx.journal.staleClaims()) {
    await note(scan, 'stale-takeover', undefined, claim._id, async () => {
      await ctx.journal.removeClaim(claim);
      return true;
    });
  }
  await checkRecords(scan);
  await checkClaims(scan);
  await checkStorage(scan);
  return { findings: scan.found };
}

/** Records a finding and, with `fix`, repairs it (unless an operation holds its tenant); `repair` says whether it did. */
async function note(
  scan: Scan,
  kind: FindingKind,
  tenantId: ObjectId | undefined,
  subject: string,
  repair?: () => Promise<boolean>,
): Promise<void> {
  const id = tenantId?.toHexString();
  let fixed = false;
  if (scan.fix && repair && !(id && scan.busy.has(id))) {
    fixed = await repair().catch((error: unknown) => {
      if (error instanceof TenancyError && error.code === 'CONFLICT') return false; // busy now: next run
      throw error;
    });
  }
  scan.found.push({ kind, ...(id ? { tenantId: id } : {}), subject, fixed });
}

const repaired = (scan: Scan, tenantId: ObjectId, only?: (doc: TenantDocument | null) => boolean) => async () =>
  (await repairTenant(scan.ctx, tenantId, only)) !== null;

async function checkRecords(scan: Scan): Promise<void> {
  for (const doc of scan.records.values()) {
    if (scan.busy.has(doc._id.toHexString())) continue;
    if (TRANSITIONAL.includes(doc.status)) {
      await note(scan, 'stranded-tenant', doc._id, doc.status, repaired(scan, doc._id, inTransition));
      continue;
    }
    if (!(await scan.ctx.names.holder(doc.nameKey))?.equals(doc._id)) {
      await note(scan, 'missing-name', doc._id, doc.nameKey, repaired(scan, doc._id));
    }
    if ((await scan.ctx.layouts.of(doc.storage).inventory(direct, doc.storage)).length === 0) {
      await note(scan, 'missing-storage', doc._id, doc.storage.collection);
    }
  }
}

async function checkClaims(scan: Scan): Promise<void> {
  const { ctx } = scan;
  const gone = (tenantId: ObjectId) =>
    !scan.busy.has(tenantId.toHexString()) && !scan.records.has(tenantId.toHexString());
  for (const claim of await ctx.names.all()) {
    const id = claim.tenantId.toHexString();
    if (scan.busy.has(id) || scan.records.get(id)?.nameKey === claim._id) continue;
    await note(scan, 'orphan-name', claim.tenantId, claim._id, repaired(scan, claim.tenantId));
  }
  for (const tenantId of await ctx.extensions.ownerIds()) {
    if (gone(tenantId)) await note(scan, 'orphan-owned', tenantId, tenantId.toHexString(), repaired(scan, tenantId));
  }
  for (const claim of await ctx.keys.all()) {
    const id = claim.tenantId.toHexString();
    if (scan.busy.has(id) || claim.state === 'purged') continue;
    if (claim.state === 'active') {
      if (scan.records.get(id)?.key !== claim._id) {
        await note(scan, 'orphan-key', claim.tenantId, claim._id, repaired(scan, claim.tenantId));
      }
      continue;
    }
    const broken = await ctx.layouts.of(claim.storage).checkTombstones(direct, claim.storage);
    if (broken.length > 0) {
      await note(scan, 'broken-tombstone', claim.tenantId, broken.join(', '), () => restoreTombstones(scan, claim));
    }
  }
}

/** Restores the tombstones under `claim`, if, under its tenant's lease, the claim and the damage are still there. */
async function restoreTombstones(scan: Scan, claim: KeyClaim): Promise<boolean> {
  const { ctx } = scan;
  const lease = await begin(ctx, claim.tenantId, 'repair', {});
  return underLease(ctx, lease, async () => {
    const now = (await ctx.keys.keysOf(claim.tenantId, lease)).find((k) => k._id === claim._id);
    const layout = ctx.layouts.of(claim.storage);
    const broken = now?.state === claim.state ? await layout.checkTombstones(lease, claim.storage) : [];
    const tenant = claim.state === 'retired' ? await ctx.registry.findById(claim.tenantId, lease) : null;
    if (broken.length > 0) await layout.restoreTombstones(lease, claim.storage, broken, tenant?.storage ?? null);
    await settleRepair(ctx, lease);
    return broken.length > 0;
  });
}

async function checkStorage(scan: Scan): Promise<void> {
  const { ctx } = scan;
  const known = (await ctx.keys.all()).map((k) => ({ key: k._id, storage: k.storage }));
  // Storage is surveyed before the keys are read again: a tenant's key is always claimed before its storage exists.
  const found: Array<{ layout: StorageDriver; piece: StoragePiece }> = [];
  for (const layout of ctx.layouts.all()) {
    const mine = known.filter((k) => k.storage.strategy === layout.kind);
    for (const piece of await layout.survey(direct, mine, ctx.layouts.configured(layout.kind))) {
      found.push({ layout, piece });
    }
  }
  const claims = await ctx.keys.all();
  const keys = new Map(claims.map((k) => [k._id, k]));
  const liveTenants = new Set(claims.filter((k) => k.state !== 'purged').map((k) => k.tenantId.toHexString()));
  for (const { layout, piece } of found) {
    if (piece.tenantId !== undefined) {
      const id = piece.tenantId;
      if (!scan.records.has(id) && !scan.busy.has(id) && !liveTenants.has(id)) {
        await note(scan, 'orphan-storage', undefined, piece.subject); // documents nobody owns are for a person
      }
      continue;
    }
    const owner = piece.key === undefined ? undefined : keys.get(piece.key);
    const owned = owner && owner.state !== 'purged' && owner.storage.strategy === layout.kind;
    if (owned && owner.storage.database === piece.database) continue;
    await note(scan, 'orphan-storage', undefined, piece.subject, () => removeUnowned(scan, layout, piece));
  }
}

/** Removes an empty piece no key owns, after taking its key out of use for good, so no create can claim it meanwhile. */
async function removeUnowned(scan: Scan, layout: StorageDriver, piece: StoragePiece): Promise<boolean> {
  const { ctx } = scan;
  const bounded = ctx.journal.bounded;
  if (piece.key === undefined) return false;
  const reserved = await ctx.keys.reserve(piece.key, layout.locate(piece.key, ''), ctx.clock(), bounded);
  if (!reserved && (await ctx.keys.holderState(piece.key)) !== 'purged') return false;
  if (piece.documents > 0) return false; // documents nobody owns are for a person to look at
  await layout.removePiece(bounded, piece);
  return true;
}
