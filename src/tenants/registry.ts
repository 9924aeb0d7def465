/**
 * The master database's tenant records: the only writer of `organizations`.
 * Name uniqueness is not decided here but by name claims (see claims.ts).
 * Every write is fenced by the lease it is made under (see lease.ts): the
 * record carries the epoch of the last lease that wrote it, and a write of an
 * older lease matches nothing.
 */
import type { Collection, Db, ObjectId } from 'mongodb';
import { direct, execute, type Runner } from '../internal/execute.js';
import { type Lease, leaseLost } from './lease.js';
import type { TenantDocument, TenantStatus } from './types.js';

export const REGISTRY_COLLECTION = 'organizations';
/** Statuses a record has only while an operation on it is under way. */
export const TRANSITIONAL: readonly TenantStatus[] = ['creating', 'renaming', 'dropping'];

export class Registry {
  readonly #records: Collection<TenantDocument>;

  constructor(master: Db) {
    this.#records = master.collection<TenantDocument>(REGISTRY_COLLECTION);
  }

  ensureIndexes(): Promise<unknown> {
    return direct.run('create registry indexes', () =>
      this.#records.createIndexes([{ key: { status: 1 }, name: 'status' }]),
    );
  }

  async insert(lease: Lease, doc: TenantDocument): Promise<void> {
    await lease.run('insert tenant', (o) => this.#records.insertOne({ ...doc, epoch: lease.epoch }, o));
  }

  findById(id: ObjectId, via: Runner = direct): Promise<TenantDocument | null> {
    return via.run('find tenant', (o) => this.#records.findOne({ _id: id }, o));
  }

  list(after: ObjectId | undefined, limit: number): Promise<TenantDocument[]> {
    const filter = after ? { _id: { $gt: after } } : {};
    return direct.run('list tenants', () => this.#records.find(filter).sort({ _id: 1 }).limit(limit).toArray());
  }

  /** Every record (for `doctor`). */
  all(): Promise<TenantDocument[]> {
    return direct.run('list tenants', () => this.#records.find({}).toArray());
  }

  /** Records in a transitional status (for recovery: one with no journal entry was stranded). */
  inTransition(): Promise<TenantDocument[]> {
    return direct.run('find tenants in transition', () =>
      this.#records.find({ status: { $in: [...TRANSITIONAL] } }).toArray(),
    );
  }

  /**
   * Marks the record as the lease's (its epoch), so no older lease's write
   * lands on it any more, and returns it as it is now; `null` when there is
   * no record.
   *
   * @throws {@link TenancyError} `CONFLICT` when a newer lease holds the record.
   */
  async fence(lease: Lease): Promise<TenantDocument | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const fenced = await lease.run('fence tenant', (o) =>
        this.#records.findOneAndUpdate(
          { _id: lease.tenantId, ...lease.fence },
          { $set: { epoch: lease.epoch } },
          { ...o, returnDocument: 'after' },
        ),
      );
      if (fenced) return fenced;
      const current = await this.findById(lease.tenantId, lease);
      if (!current) return null;
      // This lease holds the tenant, so a larger epoch on the record means the counter fell behind it.
      await lease.catchUp(current.epoch ?? 0);
    }
    throw leaseLost();
  }

  /**
   * Applies `changes` when the record is in one of `from` statuses and no
   * newer lease wrote it; returns the updated record, or `null` when no
   * record matched.
   */
  update(
    lease: Lease,
    from: readonly TenantStatus[],
    changes: Partial<TenantDocument>,
  ): Promise<TenantDocument | null> {
    return lease.run('update tenant', (o) =>
      this.#records.findOneAndUpdate(
        { _id: lease.tenantId, status: { $in: [...from] }, ...lease.fence },
        { $set: { ...changes, epoch: lease.epoch } },
        { ...o, returnDocument: 'after' },
      ),
    );
  }

  /**
   * Replaces the metadata of an `active` or `suspended` record whose metadata
   * revision is still `expectedRevision`, setting it to the next one; returns
   * the updated record, or `null` when no record matched. Made under no
   * lease: it writes only `metadata`, `metadataRevision` and `updatedAt`
   * (fields no leased operation writes but `updatedAt`) and leaves `epoch`
   * alone. The filter alone decides the race on MongoDB, not on FerretDB v1
   * (see update-metadata.ts for the claim that serializes writers first).
   * Bounded by `timeoutMs` (`STORAGE` with `details.timedOut` after it).
   */
  updateMetadata(
    id: ObjectId,
    expectedRevision: number,
    metadata: Record<string, unknown>,
    now: Date,
    timeoutMs: number,
  ): Promise<TenantDocument | null> {
    // A record never updated has no revision field: revision 0.
    const revision =
      expectedRevision === 0
        ? { $or: [{ metadataRevision: 0 }, { metadataRevision: { $exists: false } }] }
        : { metadataRevision: expectedRevision };
    return execute(
      'update tenant metadata',
      (o) =>
        this.#records.findOneAndUpdate(
          { _id: id, status: { $in: ['active', 'suspended'] }, ...revision },
          // The whole object is replaced, never merged, so a key the caller dropped is gone.
          { $set: { metadata, metadataRevision: expectedRevision + 1, updatedAt: now } },
          { ...o, returnDocument: 'after' },
        ),
      timeoutMs,
    );
  }

  async delete(lease: Lease): Promise<void> {
    await lease.run('delete tenant', (o) => this.#records.deleteOne({ _id: lease.tenantId, ...lease.fence }, o));
  }
}
