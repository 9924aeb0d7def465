/**
 * The shared-collections layout: every tenant's documents live in shared
 * collections (`<prefix>` for the default one, `<prefix>__<name>` for named
 * ones) and carry a tenant field holding the tenant's id. Application code
 * reaches them only through a scoped handle (see scoped-collection.ts) that
 * adds the tenant condition to every read and write and refuses what it
 * cannot scope.
 *
 * A drop deletes the tenant's documents from every shared collection in
 * batches, each a bounded call under the drop's lease, so a drop killed half
 * way is finished by recovery. A write through a handle taken before the
 * drop lands after it: `purgeTombstones` deletes such documents under each
 * dropped key, counting them as discarded.
 */
import type { Db, Document, MongoClient } from 'mongodb';
import { z } from 'zod';
import { TenancyError } from '../../errors.js';
import { executeExpecting, type Runner, ServerCode } from '../../internal/execute.js';
import { validate } from '../../internal/validate.js';
import type { SharedStorage, TenantStorage } from '../types.js';
import { deleteInBatches } from './batched-delete.js';
import { checkCollectionName, isCollectionName, NAME_SEPARATOR, namesUnder } from './common.js';
import { scopedCollection } from './scoped-collection.js';
import type { IsolationStrategy, KnownStorage, StorageDriver, StoragePiece, StrategyContext } from './strategy.js';
import type { StrayCount } from './tombstone.js';

/**
 * Starts of collection names the library keeps in the master database: the registry (`organizations`,
 * `organization_*`), collection-per-tenant storage (`org_`), the journal and claims (`tenancy_*`), the
 * AuthService's (`auth_*`), and the server's own (`system.`).
 */
const RESERVED_PREFIXES = ['org', 'tenancy', 'auth', 'system'] as const;
/** The server's own databases. */
const RESERVED_DATABASES: ReadonlySet<string> = new Set(['admin', 'local', 'config']);

const optionsSchema = z
  .object({
    field: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, '1 to 64 letters, digits or _, starting with a letter')
      .default('tenantId'),
    database: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, 'a database name of 1 to 63 letters, digits, _ or -')
      .refine((d) => !RESERVED_DATABASES.has(d.toLowerCase()), 'not admin, local or config')
      .optional(),
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}$/, '1 to 32 of a-z, 0-9, _ or -, starting with a letter')
      .refine(
        (p) => !RESERVED_PREFIXES.some((reserved) => p.startsWith(reserved)),
        'not starting with org, tenancy, auth or system (the library keeps collections of those names)',
      )
      .default('shared'),
    deleteBatchSize: z.number().int().min(100).max(100_000).default(10_000),
    renameStorage: z.literal(false).optional(),
  })
  .strict();

type ResolvedOptions = { field: string; database: string; prefix: string; deleteBatchSize: number };

/** Options of {@link sharedCollections}. */
export interface SharedCollectionsOptions {
  /** The tenant field every document carries, holding the tenant's id (a string). Default `tenantId`. */
  field?: string;
  /**
   * The database holding the shared collections. Default: the master database. Not `admin`, `local` or `config`,
   * and, when the manager also has a database per tenant, not a name starting with that layout's prefix.
   */
  database?: string;
  /**
   * The shared default collection's name; named collections are `<prefix>__<name>`. 1 to 32 of `[a-z0-9_-]`, not
   * starting with `org`, `tenancy`, `auth` or `system` (the registry, collection-per-tenant storage, the journal and
   * the AuthService keep collections of those names). Default `shared`.
   */
  prefix?: string;
  /**
   * The most documents a drop (or a `doctor` repair) deletes per call, walking the tenant's documents in `_id`
   * order: large enough that a server which scans the collection for each call (FerretDB v1) does not scan it too
   * often. A batch whose slower call takes over half its deadline (a quarter lease) halves the next, down to 100,
   * and fast ones double it back, so each call stays inside its deadline. 100 to 100,000; default 10,000.
   */
  deleteBatchSize?: number;
  /** Refused when `true`: the tenant's documents are named by its id, which a rename does not change. */
  renameStorage?: false;
}

/**
 * Shared collections with a tenant field: the layout for very many tenants,
 * and the one Atlas Search and Vector Search indexes expect.
 * `scope(tenant).collection(name)` returns a `Collection` through which no
 * other tenant's document can be read or written.
 *
 * @example
 * ```ts
 * const tenants = new TenantManager({ client, strategy: sharedCollections({ field: 'tenantId' }) });
 * const acme = await tenants.create({ name: 'Acme Corp' });
 * await tenants.scope(acme).collection('orders').insertOne({ total: 42 }); // stored with tenantId: acme.id
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` for an invalid option or `renameStorage: true`; when a manager is
 * built, for a `database` starting with the prefix of its database-per-tenant layout.
 */
export function sharedCollections(options: SharedCollectionsOptions = {}): IsolationStrategy {
  const resolved = validate(optionsSchema, options ?? {}, 'INVALID_OPTIONS', 'sharedCollections options');
  return {
    kind: 'shared',
    bind: (context: StrategyContext) =>
      new SharedStorageDriver(context.client, { ...resolved, database: resolved.database ?? context.masterDbName }),
  };
}

class SharedStorageDriver implements StorageDriver {
  readonly kind = 'shared';
  readonly renamesStorage = false;
  readonly #client: MongoClient;
  readonly #options: ResolvedOptions;

  constructor(client: MongoClient, options: ResolvedOptions) {
    this.#client = client;
    this.#options = options;
  }

  locate(_key: string, tenantId: string): TenantStorage {
    const { database, prefix, field } = this.#options;
    return { strategy: 'shared', database, collection: prefix, field, value: tenantId };
  }

  renamed(): TenantStorage {
    throw new TenancyError('INVALID_OPTIONS', 'Shared collections do not move on a rename');
  }

  collection<T extends Document>(storage: TenantStorage, name?: string) {
    const shared = asShared(storage);
    const physical = (logical: string) => (isCollectionName(logical) ? physicalName(shared, logical) : null);
    const raw = this.#db(shared).collection<T>(
      name === undefined ? shared.collection : physicalName(shared, checkCollectionName(name)),
    );
    return scopedCollection(raw, { field: shared.field, value: shared.value, physical });
  }

  /**
   * The default shared collection and its tenant index `{ <field>: 1, _id: 1 }` exist (idempotent; shared by
   * every tenant). The `_id` after the field lets a drop walk one tenant's documents in `_id` order.
   */
  async provision(via: Runner, storage: TenantStorage): Promise<void> {
    const shared = asShared(storage);
    const collection = this.#db(shared).collection(shared.collection);
    await executeExpecting(
      'create tenant index',
      ServerCode.NamespaceExists,
      undefined,
      (o) => collection.createIndex({ [shared.field]: 1, _id: 1 }, { ...o, name: `${shared.field}_1__id_1` }),
      via,
    );
  }

  /** The shared collections that exist now (the tenant may have documents in any of them). */
  inventory(via: Runner, storage: TenantStorage): Promise<string[]> {
    const shared = asShared(storage);
    return namesUnder(via, this.#db(shared), shared.collection);
  }

  move(): Promise<void> {
    return Promise.reject(new TenancyError('INVALID_OPTIONS', 'Shared collections do not move on a rename'));
  }

  async destroy(via: Runner, storage: TenantStorage, names: readonly string[]): Promise<void> {
    await this.#deleteAll(via, asShared(storage), names);
  }

  async remove(via: Runner, storage: TenantStorage): Promise<void> {
    await this.#deleteAll(via, asShared(storage), []);
  }

  /** Documents written through stale handles after a drop: counted and deleted (a shared tenant never moves). */
  async sweep(via: Runner, tombstoned: TenantStorage): Promise<StrayCount> {
    return { found: await this.#deleteAll(via, asShared(tombstoned), []), conflicts: 0 };
  }

  /** Nothing to check: a shared tenant leaves no tombstone. */
  async checkTombstones(): Promise<string[]> {
    return [];
  }

  async restoreTombstones(): Promise<void> {}

  /** One piece per tenant value found in a shared collection, with its document count. */
  async survey(via: Runner, known: readonly KnownStorage[], placed: boolean): Promise<StoragePiece[]> {
    const { database, prefix, field } = this.#options;
    const places = new Map<string, { database: string; collection: string; field: string }>();
    if (placed) places.set(`${database}.${prefix}.${field}`, { database, collection: prefix, field });
    for (const { storage } of known) {
      if (storage.strategy === 'shared')
        places.set(`${storage.database}.${storage.collection}.${storage.field}`, storage);
    }
    const pieces: StoragePiece[] = [];
    for (const place of places.values()) {
      const db = this.#client.db(place.database);
      const base = { ...place, value: '', strategy: 'shared' as const };
      for (const name of await this.inventory(via, base)) {
        const groups = await via.run('count tenant documents', (o) =>
          db
            .collection(name)
            .aggregate<{ _id: unknown; n: number }>([{ $group: { _id: `$${place.field}`, n: { $sum: 1 } } }], o)
            .toArray(),
        );
        for (const { _id, n } of groups) {
          const tenantId = typeof _id === 'string' ? _id : String(_id);
          pieces.push({
            subject: `${place.database}.${name} ${place.field}=${tenantId}`,
            database: place.database,
            name,
            tenantId,
            documents: n,
          });
        }
      }
    }
    return pieces;
  }

  async removePiece(via: Runner, piece: StoragePiece): Promise<void> {
    if (piece.name === undefined || piece.tenantId === undefined) return;
    const filter = { [this.#options.field]: piece.tenantId };
    await deleteInBatches(via, this.#client.db(piece.database).collection(piece.name), filter, this.#batch);
  }

  /** Deletes the tenant's documents from `names` and every shared collection that exists now; how many. */
  async #deleteAll(via: Runner, storage: SharedStorage, names: readonly string[]): Promise<number> {
    const db = this.#db(storage);
    let deleted = 0;
    for (const name of new Set([...names, ...(await this.inventory(via, storage))])) {
      deleted += await deleteInBatches(via, db.collection(name), { [storage.field]: storage.value }, this.#batch);
    }
    return deleted;
  }

  get #batch(): number {
    return this.#options.deleteBatchSize;
  }

  #db(storage: SharedStorage): Db {
    return this.#client.db(storage.database);
  }
}

function asShared(storage: TenantStorage): SharedStorage {
  if (storage.strategy !== 'shared') throw new TenancyError('INVALID_INPUT', 'Not shared-collections storage');
  return storage;
}

function physicalName(storage: SharedStorage, name: string): string {
  return `${storage.collection}${NAME_SEPARATOR}${name}`;
}
