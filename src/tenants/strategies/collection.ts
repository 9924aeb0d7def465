/**
 * The seed's isolation strategy: one collection per tenant (`org_<key>`),
 * named collections beside it (`org_<key>__<name>`), all in one database.
 */
import type { Collection, Db, Document, MongoClient } from 'mongodb';
import { z } from 'zod';
import { TenancyError } from '../../errors.js';
import { execute, executeExpecting, ServerCode } from '../../internal/execute.js';
import { validate } from '../../internal/validate.js';
import type { TenantStorage } from '../types.js';
import type { IsolationStrategy, StorageDriver, StrategyContext } from './strategy.js';
import { addStrays, isTombstone, moveDocuments, type StrayCount, tombstone } from './tombstone.js';

/** Prefix of every tenant collection. */
export const COLLECTION_PREFIX = 'org_';
/** Separator between a tenant's collection and a named collection's name. */
export const NAME_SEPARATOR = '__';
const SUB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const optionsSchema = z
  .object({
    database: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, 'a database name of 1 to 63 letters, digits, _ or -')
      .optional(),
    renameStorage: z.boolean().default(false),
  })
  .strict();

/** Options of {@link collectionPerTenant}. */
export interface CollectionPerTenantOptions {
  /** The database that holds every tenant's collections. Default: the master database, as the seed. */
  database?: string;
  /**
   * When `true`, `rename` also renames the tenant's collections to follow the
   * new name (the seed's behaviour), with `renameCollection` inside the one
   * database: no document is copied. Default `false`: physical names never
   * change after creation and a rename is one registry update.
   */
  renameStorage?: boolean;
}

/**
 * A collection per organization in one database, as the original service.
 *
 * @example
 * ```ts
 * const tenants = new TenantManager({ client, strategy: collectionPerTenant({ renameStorage: true }) });
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` when an option is invalid.
 */
export function collectionPerTenant(options: CollectionPerTenantOptions = {}): IsolationStrategy {
  const resolved = validate(optionsSchema, options ?? {}, 'INVALID_OPTIONS', 'collectionPerTenant options');
  return {
    kind: 'collection',
    bind: (context: StrategyContext) =>
      new CollectionStorage(context.client, resolved.database ?? context.masterDbName, resolved.renameStorage),
  };
}

class CollectionStorage implements StorageDriver {
  readonly kind = 'collection';
  readonly #client: MongoClient;
  readonly #database: string;
  readonly renamesStorage: boolean;

  constructor(client: MongoClient, database: string, renamesStorage: boolean) {
    this.#client = client;
    this.#database = database;
    this.renamesStorage = renamesStorage;
  }

  locate(key: string): TenantStorage {
    return { strategy: 'collection', database: this.#database, collection: `${COLLECTION_PREFIX}${key}` };
  }

  collection<T extends Document>(storage: TenantStorage, name?: string): Collection<T> {
    return this.#db(storage).collection<T>(physicalName(storage, name));
  }

  async provision(storage: TenantStorage): Promise<void> {
    const db = this.#db(storage);
    await executeExpecting('create tenant collection', ServerCode.NamespaceExists, undefined, () =>
      db.createCollection(storage.collection),
    );
  }

  inventory(storage: TenantStorage): Promise<string[]> {
    return this.#names(storage);
  }

  async move(from: TenantStorage, to: TenantStorage, names: readonly string[]): Promise<void> {
    const db = this.#db(from);
    for (const name of await this.#union(from, names)) {
      const target = db.collection(counterpart(name, from, to));
      const source = db.collection(name);
      if (!(await isTombstone(source))) {
        // Gone: an earlier attempt renamed it. Target taken: a stale write re-created the source since.
        const renamed = await executeExpecting(
          'rename tenant collection',
          [ServerCode.NamespaceNotFound, ServerCode.NamespaceExists],
          false,
          () => db.renameCollection(name, target.collectionName).then(() => true),
        );
        if (!renamed) await moveDocuments(source, target);
      }
      await tombstone(source, target);
    }
  }

  async destroy(storage: TenantStorage, names: readonly string[]): Promise<void> {
    const db = this.#db(storage);
    for (const name of await this.#union(storage, names)) {
      const collection = db.collection(name);
      if (await isTombstone(collection)) continue;
      await this.#drop(db, name);
      await tombstone(collection, null);
    }
  }

  async remove(storage: TenantStorage): Promise<void> {
    const db = this.#db(storage);
    for (const name of await this.#names(storage)) await this.#drop(db, name);
  }

  async sweep(tombstoned: TenantStorage, into: TenantStorage | null): Promise<StrayCount> {
    const db = this.#db(tombstoned);
    const total: StrayCount = { found: 0, conflicts: 0 };
    for (const name of await this.#names(tombstoned)) {
      const target = into ? this.#db(into).collection(counterpart(name, tombstoned, into)) : null;
      addStrays(total, await moveDocuments(db.collection(name), target));
    }
    return total;
  }

  async #drop(db: Db, name: string): Promise<void> {
    await executeExpecting('drop tenant collection', ServerCode.NamespaceNotFound, false, () =>
      db.dropCollection(name),
    );
  }

  async #union(storage: TenantStorage, names: readonly string[]): Promise<string[]> {
    return [...new Set([...names, ...(await this.#names(storage))])];
  }

  #db(storage: TenantStorage): Db {
    return this.#client.db(storage.database);
  }

  /** The tenant's default collection and its named collections that exist now. */
  async #names(storage: TenantStorage): Promise<string[]> {
    const base = storage.collection;
    const all = await execute('list tenant collections', () =>
      this.#db(storage)
        .listCollections({ name: { $regex: `^${base}(${NAME_SEPARATOR}|$)` } }, { nameOnly: true })
        .toArray(),
    );
    return all.map((c) => c.name).filter((n) => n === base || n.startsWith(base + NAME_SEPARATOR));
  }
}

/** The name under `to` of the collection called `name` under `from` (the default one, or a named one). */
function counterpart(name: string, from: TenantStorage, to: TenantStorage): string {
  return to.collection + name.slice(from.collection.length);
}

/**
 * The physical name of a tenant's collection.
 *
 * @throws {@link TenancyError} `INVALID_INPUT` for a name that is not 1 to 64 of `[A-Za-z0-9_-]`.
 */
function physicalName(storage: TenantStorage, name: string | undefined): string {
  if (name === undefined) return storage.collection;
  if (typeof name !== 'string' || !SUB_NAME.test(name)) {
    throw new TenancyError(
      'INVALID_INPUT',
      'A collection name must be 1 to 64 letters, digits, _ or -, starting with a letter or digit',
      {
        details: { field: 'name' },
      },
    );
  }
  return `${storage.collection}${NAME_SEPARATOR}${name}`;
}
