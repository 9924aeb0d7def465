/**
 * The collection-per-tenant layout: one collection per tenant (`org_<key>`),
 * named collections beside it (`org_<key>__<name>`), all in one database.
 */
import type { Collection, Db, Document, MongoClient } from 'mongodb';
import { z } from 'zod';
import { executeExpecting, type Runner, ServerCode } from '../../internal/execute.js';
import { validate } from '../../internal/validate.js';
import type { TenantStorage } from '../types.js';
import { checkCollectionName, createCollection, dropCollection, NAME_SEPARATOR, namesUnder } from './common.js';
import type { IsolationStrategy, KnownStorage, StorageDriver, StoragePiece, StrategyContext } from './strategy.js';
import { addStrays, isTombstone, moveDocuments, type StrayCount, tombstone } from './tombstone.js';

/** Prefix of every tenant collection. */
export const COLLECTION_PREFIX = 'org_';

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
  /** The database that holds every tenant's collections. Default: the master database. */
  database?: string;
  /**
   * When `true`, `rename` also renames the tenant's collections to follow the
   * new name, with `renameCollection` inside the one
   * database: no document is copied. Default `false`: physical names never
   * change after creation and a rename is one registry update.
   */
  renameStorage?: boolean;
}

/**
 * A collection per organization in one database.
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

  /** A rename stays inside the tenant's own database, whatever `database` says today: no document is copied. */
  renamed(storage: TenantStorage, key: string): TenantStorage {
    return { ...this.locate(key), database: storage.database };
  }

  collection<T extends Document>(storage: TenantStorage, name?: string): Collection<T> {
    return this.#db(storage).collection<T>(physicalName(storage, name));
  }

  provision(via: Runner, storage: TenantStorage): Promise<void> {
    return createCollection(via, this.#db(storage), storage.collection);
  }

  inventory(via: Runner, storage: TenantStorage): Promise<string[]> {
    return this.#names(via, storage);
  }

  async move(via: Runner, from: TenantStorage, to: TenantStorage, names: readonly string[]): Promise<void> {
    const db = this.#db(from);
    for (const name of await this.#union(via, from, names)) {
      const target = db.collection(counterpart(name, from, to));
      const source = db.collection(name);
      if (await isTombstone(via, source)) continue; // moved by an earlier attempt
      // Gone: an earlier attempt renamed it. Target taken: a stale write re-created the source since.
      const renamed = await executeExpecting(
        'rename tenant collection',
        [ServerCode.NamespaceNotFound, ServerCode.NamespaceExists],
        false,
        (o) => db.renameCollection(name, target.collectionName, o).then(() => true),
        via,
      );
      if (!renamed) await moveDocuments(via, source, target);
      await tombstone(via, source, target);
    }
  }

  async destroy(via: Runner, storage: TenantStorage, names: readonly string[]): Promise<void> {
    const db = this.#db(storage);
    for (const name of await this.#union(via, storage, names)) {
      const collection = db.collection(name);
      if (await isTombstone(via, collection)) continue;
      await dropCollection(via, db, name);
      await tombstone(via, collection, null);
    }
  }

  async remove(via: Runner, storage: TenantStorage): Promise<void> {
    const db = this.#db(storage);
    for (const name of await this.#names(via, storage)) await dropCollection(via, db, name);
  }

  async sweep(via: Runner, tombstoned: TenantStorage, into: TenantStorage | null): Promise<StrayCount> {
    const db = this.#db(tombstoned);
    const total: StrayCount = { found: 0, conflicts: 0 };
    for (const name of await this.#names(via, tombstoned)) {
      const target = into ? this.#db(into).collection(counterpart(name, tombstoned, into)) : null;
      addStrays(total, await moveDocuments(via, db.collection(name), target));
    }
    return total;
  }

  async checkTombstones(via: Runner, tombstoned: TenantStorage): Promise<string[]> {
    const db = this.#db(tombstoned);
    const names = await this.#union(via, tombstoned, [tombstoned.collection]);
    const broken: string[] = [];
    for (const name of names) if (!(await isTombstone(via, db.collection(name)))) broken.push(name);
    return broken;
  }

  async restoreTombstones(
    via: Runner,
    tombstoned: TenantStorage,
    names: readonly string[],
    into: TenantStorage | null,
  ): Promise<void> {
    const db = this.#db(tombstoned);
    for (const name of names) {
      const target = into ? this.#db(into).collection(counterpart(name, tombstoned, into)) : null;
      await tombstone(via, db.collection(name), target);
    }
  }

  async survey(via: Runner, known: readonly KnownStorage[], placed: boolean): Promise<StoragePiece[]> {
    const databases = new Set([...(placed ? [this.#database] : []), ...known.map((k) => k.storage.database)]);
    const pieces: StoragePiece[] = [];
    for (const database of databases) {
      const db = this.#client.db(database);
      const all = await via.run('list tenant collections', (o) =>
        db.listCollections({ name: { $regex: `^${COLLECTION_PREFIX}` } }, { ...o, nameOnly: true }).toArray(),
      );
      for (const { name } of all.filter((c) => c.name.startsWith(COLLECTION_PREFIX))) {
        const key = (name.split(NAME_SEPARATOR)[0] as string).slice(COLLECTION_PREFIX.length);
        const documents = await via.run('count documents', (o) => db.collection(name).countDocuments({}, o));
        pieces.push({ subject: `${database}.${name}`, database, name, key, documents });
      }
    }
    return pieces;
  }

  async removePiece(via: Runner, piece: StoragePiece): Promise<void> {
    if (piece.name !== undefined) await dropCollection(via, this.#client.db(piece.database), piece.name);
  }

  async #union(via: Runner, storage: TenantStorage, names: readonly string[]): Promise<string[]> {
    return [...new Set([...names, ...(await this.#names(via, storage))])];
  }

  #db(storage: TenantStorage): Db {
    return this.#client.db(storage.database);
  }

  /** The tenant's default collection and its named collections that exist now. */
  #names(via: Runner, storage: TenantStorage): Promise<string[]> {
    return namesUnder(via, this.#db(storage), storage.collection);
  }
}

/** The name under `to` of the collection called `name` under `from` (the default one, or a named one). */
function counterpart(name: string, from: TenantStorage, to: TenantStorage): string {
  return to.collection + name.slice(from.collection.length);
}

/** The physical name of a tenant's collection. @throws {@link TenancyError} `INVALID_INPUT` for an invalid name. */
function physicalName(storage: TenantStorage, name: string | undefined): string {
  return name === undefined ? storage.collection : `${storage.collection}${NAME_SEPARATOR}${checkCollectionName(name)}`;
}
