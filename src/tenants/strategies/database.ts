/**
 * The database-per-tenant layout: each tenant has a database of its own
 * (`<prefix><key>`), its default collection and named collections inside
 * it, and every tenant shares the application's one `MongoClient` (its
 * connection pool serves every database).
 *
 * MongoDB cannot rename a database, so a rename changes the registry only.
 * A drop removes the database. A write through a handle taken before the
 * drop re-creates it (MongoDB creates a database on its first write), so
 * `purgeTombstones` looks under each dropped key and removes what it finds,
 * counting those documents as discarded, and `doctor` reports a database
 * under the prefix that no tenant owns.
 */
import type { Db, Document, MongoClient } from 'mongodb';
import { z } from 'zod';
import { TenancyError } from '../../errors.js';
import type { Runner } from '../../internal/execute.js';
import { validate } from '../../internal/validate.js';
import type { TenantStorage } from '../types.js';
import { checkCollectionName, collectionNames, createCollection } from './common.js';
import type { IsolationStrategy, KnownStorage, StorageDriver, StoragePiece, StrategyContext } from './strategy.js';
import { addStrays, moveDocuments, type StrayCount } from './tombstone.js';

/** The default collection inside a tenant's database. */
export const DEFAULT_COLLECTION = 'default';

const optionsSchema = z
  .object({
    // Lower case only: keys are, and MongoDB refuses two database names that differ only by case.
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,14}$/, '1 to 15 of a-z, 0-9, _ or -, starting with a letter')
      .default('tenant_'),
    renameStorage: z.literal(false).optional(),
  })
  .strict();

/** Options of {@link databasePerTenant}. */
export interface DatabasePerTenantOptions {
  /**
   * The start of every tenant database's name: 1 to 15 of `[a-z0-9_-]`,
   * starting with a letter. With a key of at most 48 characters, a name
   * stays within the 63 characters MongoDB and FerretDB allow. The master
   * database's name must not start with it. Default `tenant_`.
   */
  prefix?: string;
  /** Refused when `true`: MongoDB cannot rename a database, so a rename changes the registry only. */
  renameStorage?: false;
}

/**
 * A database per organization, all served by one `MongoClient`.
 *
 * @example
 * ```ts
 * const tenants = new TenantManager({ client, strategy: databasePerTenant({ prefix: 'tenant_' }) });
 * const acme = await tenants.create({ name: 'Acme Corp' });
 * acme.storage.database; // 'tenant_acme_corp'
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` for an invalid prefix or `renameStorage: true`; when bound,
 * for a master database whose name starts with the prefix.
 */
export function databasePerTenant(options: DatabasePerTenantOptions = {}): IsolationStrategy {
  const { prefix } = validate(optionsSchema, options ?? {}, 'INVALID_OPTIONS', 'databasePerTenant options');
  return {
    kind: 'database',
    bind: (context: StrategyContext) => {
      if (context.masterDbName.toLowerCase().startsWith(prefix)) {
        throw new TenancyError('INVALID_OPTIONS', 'The master database name must not start with the tenant prefix', {
          details: { field: 'prefix' },
        });
      }
      return new DatabaseStorage(context.client, prefix);
    },
  };
}

class DatabaseStorage implements StorageDriver {
  readonly kind = 'database';
  readonly renamesStorage = false;
  readonly #client: MongoClient;
  readonly #prefix: string;

  constructor(client: MongoClient, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  locate(key: string): TenantStorage {
    return { strategy: 'database', database: `${this.#prefix}${key}`, collection: DEFAULT_COLLECTION };
  }

  renamed(): TenantStorage {
    throw new TenancyError('INVALID_OPTIONS', 'A database per tenant cannot be renamed');
  }

  collection<T extends Document>(storage: TenantStorage, name?: string) {
    return this.#db(storage).collection<T>(name === undefined ? storage.collection : checkCollectionName(name));
  }

  provision(via: Runner, storage: TenantStorage): Promise<void> {
    return createCollection(via, this.#db(storage), storage.collection);
  }

  inventory(via: Runner, storage: TenantStorage): Promise<string[]> {
    return collectionNames(via, this.#db(storage));
  }

  move(): Promise<void> {
    return Promise.reject(new TenancyError('INVALID_OPTIONS', 'A database per tenant cannot be moved by a rename'));
  }

  async destroy(via: Runner, storage: TenantStorage): Promise<void> {
    await this.remove(via, storage);
  }

  async remove(via: Runner, storage: TenantStorage): Promise<void> {
    const db = this.#db(storage);
    await via.run('drop tenant database', (o) => db.dropDatabase(o));
  }

  /** Documents in a database re-created through a stale handle: moved to `into`, or discarded; then it goes. */
  async sweep(via: Runner, tombstoned: TenantStorage, into: TenantStorage | null): Promise<StrayCount> {
    const db = this.#db(tombstoned);
    const total: StrayCount = { found: 0, conflicts: 0 };
    for (const name of await collectionNames(via, db)) {
      const target = into ? this.#db(into).collection(name) : null;
      addStrays(total, await moveDocuments(via, db.collection(name), target));
    }
    await this.remove(via, tombstoned);
    return total;
  }

  /** Nothing to check: a dropped tenant leaves no tombstone, only (perhaps) a re-created database. */
  async checkTombstones(): Promise<string[]> {
    return [];
  }

  async restoreTombstones(): Promise<void> {}

  async survey(via: Runner, known: readonly KnownStorage[], placed: boolean): Promise<StoragePiece[]> {
    const byDatabase = new Map(known.map((k) => [k.storage.database, k.key]));
    const listed = await via.run('list databases', (o) =>
      this.#client
        .db('admin')
        .admin()
        .listDatabases({ ...o, nameOnly: true }),
    );
    const pieces: StoragePiece[] = [];
    for (const { name: database } of listed.databases) {
      const key =
        byDatabase.get(database) ??
        (placed && database.startsWith(this.#prefix) ? database.slice(this.#prefix.length) : undefined);
      if (key === undefined) continue;
      pieces.push({ subject: database, database, key, documents: await this.#count(via, this.#client.db(database)) });
    }
    return pieces;
  }

  async removePiece(via: Runner, piece: StoragePiece): Promise<void> {
    await via.run('drop tenant database', (o) => this.#client.db(piece.database).dropDatabase(o));
  }

  async #count(via: Runner, db: Db): Promise<number> {
    let documents = 0;
    for (const name of await collectionNames(via, db)) {
      documents += await via.run('count documents', (o) => db.collection(name).countDocuments({}, o));
    }
    return documents;
  }

  #db(storage: TenantStorage): Db {
    return this.#client.db(storage.database);
  }
}
