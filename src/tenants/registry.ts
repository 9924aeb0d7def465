/**
 * The master database's tenant records: the only writer of `organizations`.
 * Name uniqueness is the unique index on `nameKey`, never a read-then-write.
 */
import type { Collection, Db, ObjectId } from 'mongodb';
import { execute, executeExpecting, ServerCode } from '../internal/execute.js';
import type { TenantDocument, TenantStatus } from './types.js';

export const REGISTRY_COLLECTION = 'organizations';
const NAME_TAKEN = Symbol('name taken');

export class Registry {
  readonly #records: Collection<TenantDocument>;

  constructor(master: Db) {
    this.#records = master.collection<TenantDocument>(REGISTRY_COLLECTION);
  }

  ensureIndexes(): Promise<unknown> {
    return execute('create registry indexes', () =>
      this.#records.createIndexes([{ key: { nameKey: 1 }, name: 'nameKey_unique', unique: true }]),
    );
  }

  /** Inserts a record; `false` when its name key is taken. */
  async insert(doc: TenantDocument): Promise<boolean> {
    const result = await executeExpecting('insert tenant', ServerCode.DuplicateKey, NAME_TAKEN, () =>
      this.#records.insertOne(doc),
    );
    return result !== NAME_TAKEN;
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
   * the updated record, `null` when no record matched, or `'name-taken'`.
   */
  async update(
    id: ObjectId,
    from: readonly TenantStatus[],
    changes: Partial<TenantDocument>,
  ): Promise<TenantDocument | null | 'name-taken'> {
    const result = await executeExpecting('update tenant', ServerCode.DuplicateKey, NAME_TAKEN, () =>
      this.#records.findOneAndUpdate(
        { _id: id, status: { $in: [...from] } },
        { $set: changes },
        { returnDocument: 'after' },
      ),
    );
    return result === NAME_TAKEN ? 'name-taken' : result;
  }

  async delete(id: ObjectId): Promise<void> {
    await execute('delete tenant', () => this.#records.deleteOne({ _id: id }));
  }
}
