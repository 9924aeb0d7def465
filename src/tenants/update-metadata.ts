/**
 * updateMetadata: replaces a tenant's metadata, with optimistic concurrency.
 *
 * The version check is a revision number, `metadataRevision`, kept on the
 * record and on the public {@link Tenant}: revision `n + 1` is written only
 * over revision `n`, so an update applies only when the record's revision is
 * still the one the caller read. Of two writers that read the same revision,
 * one wins and the other gets `CONFLICT`, whatever their clocks say.
 * `updatedAt` would not do: it has millisecond resolution and comes from each
 * process's clock, so two updates within a millisecond, or from processes
 * whose clocks disagree, could carry the same timestamp and let a stale
 * writer through.
 *
 * Who writes revision `n + 1` is decided by an insert, as every race of the
 * library is (see claims.ts and docs/compatibility.md: FerretDB v1 does not
 * make a filtered update atomic, so two writers could both match revision
 * `n`): the writer first inserts a claim `<tenant id>:<n + 1>` into
 * `organization_metadata_claims`; only the one whose insert succeeds sends
 * the update, filtered on revision `n`, within {@link CALL_MS}, then removes
 * its claim. A claim left by a writer that died or timed out expires after
 * {@link CLAIM_MS}, long after its update could still land; until then other
 * writers from revision `n` get `CONFLICT`.
 *
 * The revision counts metadata updates only: a rename, a suspend or a resume
 * does not write metadata, so it cannot be lost to a metadata update, and it
 * does not make a metadata writer's revision stale. The update takes no
 * lease (it is one conditional update of fields no leased operation writes,
 * and it leaves the lease's `epoch` alone), so it does not wait for, or get
 * in the way of, an operation on the tenant.
 */
import { randomUUID } from 'node:crypto';
import type { Db, ObjectId } from 'mongodb';
import { z } from 'zod';
import { TenancyError } from '../errors.js';
import { execute, executeExpecting, ServerCode } from '../internal/execute.js';
import { validate } from '../internal/validate.js';
import { METADATA_CLAIMS_COLLECTION } from './extensions.js';
import { parseMetadata } from './metadata.js';
import type { OperationContext } from './operation.js';
import type { Tenant, TenantDocument } from './types.js';

/** Options of {@link TenantManager.updateMetadata}. */
export interface UpdateMetadataOptions {
  /**
   * The {@link Tenant.metadataRevision} of the record the new metadata was
   * computed from: the update applies only if the metadata has not been
   * updated since.
   */
  expectedRevision: number;
}

const optionsSchema = z.object({ expectedRevision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict();

/**
 * Validates an update's metadata (plain JSON, at most 16 KiB, see
 * metadata.ts) and options.
 *
 * @throws {@link TenancyError} `INVALID_INPUT`.
 */
export function parseMetadataUpdate(
  metadata: unknown,
  options: unknown,
): { metadata: Record<string, unknown>; expectedRevision: number } {
  if (metadata === undefined) {
    throw new TenancyError('INVALID_INPUT', 'Metadata must be an object; pass {} to clear it', {
      details: { field: 'metadata' },
    });
  }
  const parsed = parseMetadata(metadata);
  const { expectedRevision } = validate(optionsSchema, options, 'INVALID_INPUT', 'updateMetadata options');
  return { metadata: parsed, expectedRevision };
}

/** The claims that decide which writer writes each revision. */
/** The deadline of the update a claim's holder sends. */
export const CALL_MS = 5_000;
/** How long a claim holds: long after its holder's update could still land. */
export const CLAIM_MS = 30_000;

interface MetadataClaim {
  /** `<tenant id>:<revision>` */
  _id: string;
  tenantId: ObjectId;
  holder: string;
  expiresAt: Date;
}

/**
 * Replaces the metadata of the tenant `id` if its metadata revision is still
 * `expectedRevision` and it is `active` or `suspended`.
 *
 * @throws {@link TenancyError} `TENANT_NOT_FOUND`; `TENANT_UNAVAILABLE` for a tenant being created, renamed with its
 * storage, or dropped; `CONFLICT` (`details.field`: `expectedRevision`) when the metadata was updated meanwhile, or
 * another writer is updating it from the same revision; `STORAGE`.
 */
export async function updateTenantMetadata(
  ctx: OperationContext,
  master: Db,
  id: ObjectId,
  metadata: Record<string, unknown>,
  expectedRevision: number,
): Promise<TenantDocument> {
  const claims = master.collection<MetadataClaim>(METADATA_CLAIMS_COLLECTION);
  const claim: MetadataClaim = {
    _id: `${id.toHexString()}:${expectedRevision + 1}`,
    tenantId: id,
    holder: randomUUID(),
    expiresAt: new Date(ctx.clock().getTime() + CLAIM_MS),
  };
  const insert = () =>
    executeExpecting('claim metadata revision', ServerCode.DuplicateKey, false, (o) =>
      claims.insertOne(claim, o).then(() => true),
    );
  let won = await insert();
  if (!won) {
    // A claim whose holder died or timed out expires: take it over, once; a second insert still decides.
    const expired = await execute('release expired metadata claim', () =>
      claims.deleteOne({ _id: claim._id, expiresAt: { $lte: ctx.clock() } }),
    );
    if (expired.deletedCount > 0) won = await insert();
  }
  if (!won) throw await refusal(ctx, id, expectedRevision);
  const release = () =>
    execute('release metadata claim', () => claims.deleteOne({ _id: claim._id, holder: claim.holder }));
  // Sent only while the claim holds, with time to spare: it has landed or failed before the claim can be taken over.
  if (ctx.clock().getTime() + CALL_MS > claim.expiresAt.getTime() - CLAIM_MS / 2) {
    await release();
    throw new TenancyError('CONFLICT', 'The metadata update stalled for too long; retry');
  }
  const updated = await ctx.registry.updateMetadata(id, expectedRevision, metadata, ctx.clock(), CALL_MS);
  await release();
  if (updated) return updated;
  throw await refusal(ctx, id, expectedRevision);
}

/** Why an update did not apply: no tenant, a tenant mid-operation, or a revision that moved on (or is being written). */
async function refusal(ctx: OperationContext, id: ObjectId, expectedRevision: number): Promise<TenancyError> {
  const current = await ctx.registry.findById(id);
  if (!current) return new TenancyError('TENANT_NOT_FOUND');
  if (current.status !== 'active' && current.status !== 'suspended') return new TenancyError('TENANT_UNAVAILABLE');
  if ((current.metadataRevision ?? 0) === expectedRevision) {
    // Still at the revision asked for: another writer from it holds the claim, or died or timed out holding it.
    return new TenancyError(
      'CONFLICT',
      `Another update from revision ${expectedRevision} is in progress or stalled: retry shortly`,
      { details: { field: 'expectedRevision', retryAfter: Math.ceil(CLAIM_MS / 1000) } },
    );
  }
  return new TenancyError(
    'CONFLICT',
    `The metadata was updated since revision ${expectedRevision}: read the tenant again and retry`,
    { details: { field: 'expectedRevision' } },
  );
}
