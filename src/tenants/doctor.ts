/**
 * doctor: checks the registry against the claims, the journal and the
 * storage, and with `fix` repairs what is safe to repair. It finds what
 * nothing else can prevent: a stalled holder's late insert (a claim, a
 * record, a collection) or late storage command (a dropped tombstone)
 * landing after the operation was settled by another process.
 */
import type { ObjectId } from 'mongodb';
import { direct } from '../internal/execute.js';
import type { KeyClaim } from './claims.js';
import { begin, type OperationContext, recoverEntry, underLease } from './operation.js';
import { TRANSITIONAL } from './registry.js';
import { repairTenant, settleRepair } from './repair.js';
import type { TenantDocument } from './types.js';

/** What {@link TenantManager.doctor} can find. */
export type FindingKind =
  | 'stuck-operation'
  | 'stale-takeover'
  | 'stranded-tenant'
  | 'orphan-name'
  | 'orphan-key'
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
  readonly records: Map<string, TenantDocument>;
  readonly busy: Set<string>;
  readonly found: Finding[];
  readonly fix: boolean;
}

export async function runDoctor(ctx: OperationContext, fix: boolean): Promise<DoctorReport> {
  const [records, entries] = await Promise.all([ctx.registry.all(), ctx.journal.all()]);
  const now = ctx.clock().getTime();
  const scan: Scan = {
    records: new Map(records.map((r) => [r._id.toHexString(), r])),
    busy: new Set(entries.filter((e) => e.expiresAt.getTime() > now).map((e) => e._id.toHexString())),
    found: [],
    fix,
  };
  for (const entry of entries.filter((e) => e.expiresAt.getTime() <= now)) {
    await note(scan, 'stuck-operation', entry._id, `${entry.op}:${entry.step}`, () => recoverEntry(ctx, entry._id));
  }
  for (const claim of await ctx.journal.staleClaims()) {
    await note(scan, 'stale-takeover', undefined, claim._id, () => ctx.journal.removeClaim(claim));
  }
  await checkRecords(ctx, scan);
  await checkNames(ctx, scan);
  const keys = await ctx.keys.all();
  await checkKeys(ctx, scan, keys);
  await checkStorage(ctx, scan, keys);
  return { findings: scan.found };
}

async function note(
  scan: Scan,
  kind: FindingKind,
  tenantId: ObjectId | undefined,
  subject: string,
  repair?: () => Promise<unknown>,
): Promise<void> {
  const id = tenantId?.toHexString();
  let fixed = false;
  if (scan.fix && repair && !(id && scan.busy.has(id))) {
    await repair();
    fixed = true;
    if (id) scan.busy.add(id); // repaired once is enough for this run
  }
  scan.found.push({ kind, ...(id ? { tenantId: id } : {}), subject, fixed });
}

async function checkRecords(ctx: OperationContext, scan: Scan): Promise<void> {
  for (const doc of scan.records.values()) {
    const id = doc._id.toHexString();
    if (scan.busy.has(id)) continue;
    if (TRANSITIONAL.includes(doc.status)) {
      await note(scan, 'stranded-tenant', doc._id, doc.status, () => repairTenant(ctx, doc._id));
      continue;
    }
    if (!(await ctx.names.holder(doc.nameKey))?.equals(doc._id)) {
      await note(scan, 'missing-name', doc._id, doc.nameKey, () => repairTenant(ctx, doc._id));
    }
    if ((await ctx.storage.inventory(direct, doc.storage)).length === 0) {
      await note(scan, 'missing-storage', doc._id, doc.storage.collection);
    }
  }
}

async function checkNames(ctx: OperationContext, scan: Scan): Promise<void> {
  for (const claim of await ctx.names.all()) {
    const id = claim.tenantId.toHexString();
    if (scan.busy.has(id) || scan.records.get(id)?.nameKey === claim._id) continue;
    await note(scan, 'orphan-name', claim.tenantId, claim._id, () => repairTenant(ctx, claim.tenantId));
  }
}

async function checkKeys(ctx: OperationContext, scan: Scan, keys: KeyClaim[]): Promise<void> {
  for (const claim of keys) {
    const id = claim.tenantId.toHexString();
    if (scan.busy.has(id)) continue;
    const record = scan.records.get(id);
    if (claim.state === 'active' && record?.key !== claim._id) {
      await note(scan, 'orphan-key', claim.tenantId, claim._id, () => repairTenant(ctx, claim.tenantId));
      continue;
    }
    if (claim.state === 'active') continue;
    const broken = await ctx.storage.checkTombstones(direct, claim.storage);
    if (broken.length === 0) continue;
    await note(scan, 'broken-tombstone', claim.tenantId, broken.join(', '), async () => {
      const lease = await begin(ctx, claim.tenantId, 'repair', {});
      await underLease(ctx, lease, async () => {
        await ctx.storage.restoreTombstones(lease, claim.storage, broken);
        return settleRepair(ctx, lease);
      });
    });
  }
}

async function checkStorage(ctx: OperationContext, scan: Scan, keys: KeyClaim[]): Promise<void> {
  const known = new Map<string, Set<string>>();
  for (const claim of keys) {
    const set = known.get(claim.storage.database) ?? new Set<string>();
    known.set(claim.storage.database, set.add(claim.storage.collection));
  }
  const databases = new Set([ctx.storage.locate('x').database, ...known.keys()]);
  for (const database of databases) {
    for (const stray of await ctx.storage.strays(direct, database, known.get(database) ?? new Set())) {
      // Only an empty one is dropped: documents in a collection nobody owns are for a person to look at.
      const drop = stray.documents === 0 ? () => ctx.storage.dropStray(direct, database, stray.name) : undefined;
      await note(scan, 'orphan-storage', undefined, `${database}.${stray.name}`, drop);
    }
  }
}
