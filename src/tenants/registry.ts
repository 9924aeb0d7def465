/**
 * The master database's tenant records: the only writer of `organizations`.
 * Name uniqueness is not decided here but by name claims (see claims.ts).
 */
import type { Collection, Db, ObjectId } from 'mongodb';
import { execute } from '../internal/execute.js';
import type { TenantDocument, TenantStatus } from './types.js';

export const REGISTRY_COLLECTION = 'organizations';
/** The AuthService's admins, kept in the master database. */
export const ADMINS_COLLECTION = 'organization_admins';
/** The AuthService's email claims (`_id` = email). */
export const ADMIN_EMAILS_COLLECTION = 'organization_admin_emails';
/**
 * Master-database collections whose documents belong to one tenant (by a
 * `tenantId` field). A drop, or an undone create, removes them with the tenant.
 */
export const TENANT_OWNED_COLLECTIONS = [ADMINS_COLLECTION, ADMIN_EMAILS_COLLECTION] as const;

export class Registry {
  readonly #master: Db;
  readonly #records: Collection<TenantDocument>;

  constructor(master: Db) {
    this.#master = master;
    this.#records = master.collection<TenantDocument>(REGISTRY_COLLECTION);
  }

  ensureIndexes(): Promise<unknown> {
    return execute('create registry indexes', () =>
      this.#records.createIndexes([{ key: { nameKey: 1 }, name: 'nameKey' }]),
    );
  }

  async insert(doc: TenantDocument): Promise<void> {
    await execute('insert tenant', () => this.#records.insertOne(doc));
  }

  findById(id: ObjectId): Promise<TenantDocument | null> {
    return execute('find tenant', () => this.#records.findOne({ _id: id }));
  }

  findByNameKey(nameKey: string): Promise<TenantDocument | null> {
    return execute('find tenant', () => this.#records.findOne({ nameKey }));
  }

  list(after: ObjectId | undefined, limit: number): Promise<TenantDocument[]> {
    const filter = after ? { _id: { $gt: after } } : {};
    return execute('list tenants', () => this.#records.find(filter).sort({ _id: 1 }).limit(limit).toArray());
  }

  /**
   * Applies `changes` when the record is in one of `from` statuses; returns
   * the updated record, or `null` when no record matched.
   */
  update(
    id: ObjectId,
    from: readonly TenantStatus[],
    changes: Partial<TenantDocument>,
  ): Promise<TenantDocument | null> {
    return execute('update tenant', () =>
      this.#records.findOneAndUpdate(
        { _id: id, status: { $in: [...from] } },
        { $set: changes },
        { returnDocument: 'after' },
      ),
    );
  }

  /** Removes the tenant's documents from {@link TENANT_OWNED_COLLECTIONS}. */
  async deleteOwned(id: ObjectId): Promise<void> {
    for (const name of TENANT_OWNED_COLLECTIONS) {
      await execute('delete tenant-owned documents', () => this.#master.collection(name).deleteMany({ tenantId: id }));
    }
  }

  async delete(id: ObjectId): Promise<void> {
    await execute('delete tenant', () => this.#records.deleteOne({ _id: id }));
  }
}
