/**
 * The isolation strategy interface: how a tenant's data is laid out in
 * MongoDB. The library ships three ({@link collectionPerTenant},
 * {@link databasePerTenant}, {@link sharedCollections}); the interface is
 * public so that a layout of your own plugs into the same journaled
 * operations.
 */
import type { Collection, Document, MongoClient } from 'mongodb';
import type { Runner } from '../../internal/execute.js';
import type { StorageKind, TenantStorage } from '../types.js';
import type { StrayCount } from './tombstone.js';

/** What a strategy is given when a manager binds it. */
export interface StrategyContext {
  /** The application's one client: every tenant of the layout shares it. */
  readonly client: MongoClient;
  /** The master database's name: a layout must never place tenant storage where it could meet the registry. */
  readonly masterDbName: string;
}

/**
 * An isolation strategy: a layout's name and its options, bound by a
 * `TenantManager` to its client. Create one with a factory and pass it as
 * the manager's `strategy` (the layout of new tenants) or in `layouts`.
 *
 * @example
 * ```ts
 * const tenants = new TenantManager({ client, strategy: databasePerTenant({ prefix: 'tenant_' }) });
 * ```
 */
export interface IsolationStrategy {
  readonly kind: StorageKind;
  /**
   * Binds the layout to a manager's client (no I/O).
   *
   * @throws {@link TenancyError} `INVALID_OPTIONS` when the options cannot work with this master database.
   */
  bind(context: StrategyContext): StorageDriver;
}

/** A piece of a layout's storage found in the database, and what it was built for (for `doctor`). */
export interface StoragePiece {
  /** Where it is, for people: `db.collection`, a database name, or `db.collection` with the tenant's value. */
  readonly subject: string;
  /** The database holding it. */
  readonly database: string;
  /** The collection, when the piece is one (or part of one); absent for a whole database. */
  readonly name?: string;
  /** The storage key it was built from, when its place names one. */
  readonly key?: string;
  /** The tenant it was built for, when its place names the tenant's id (shared collections). */
  readonly tenantId?: string;
  /** How many documents it holds. */
  readonly documents: number;
}

/** Storage the registry or a key claim names, with the key it was built from (for `survey`). */
export interface KnownStorage {
  readonly key: string;
  readonly storage: TenantStorage;
}

/**
 * The physical side of a layout, as the journaled operations use it. Every
 * method that does I/O takes `via` first and makes every database call
 * through it (the operation's lease: checked, bounded by a deadline,
 * reported to the hooks), and is idempotent: a crashed operation runs it
 * again from the start.
 */
export interface StorageDriver {
  readonly kind: StorageKind;
  /** Whether `rename` moves the tenant's storage to places built from the new name's key. */
  readonly renamesStorage: boolean;
  /** The storage of a new tenant with this key (pure: no I/O). */
  locate(key: string, tenantId: string): TenantStorage;
  /** Where a rename that moves storage puts `storage` under a new key (pure; only when `renamesStorage`). */
  renamed(storage: TenantStorage, key: string): TenantStorage;
  /**
   * The handle application code gets for a tenant's default collection or a
   * named one (pure: no I/O).
   *
   * @throws {@link TenancyError} `INVALID_INPUT` for an invalid name.
   */
  collection<T extends Document>(storage: TenantStorage, name?: string): Collection<T>;
  /** Creates the tenant's storage. */
  provision(via: Runner, storage: TenantStorage): Promise<void>;
  /**
   * The names of the tenant's storage that exist now. Operations journal
   * this list before they move or destroy, so a retry after a crash still
   * knows names that no longer exist.
   */
  inventory(via: Runner, storage: TenantStorage): Promise<string[]>;
  /** Moves the listed names (and any that exist now) to `to`, leaving tombstones behind. */
  move(via: Runner, from: TenantStorage, to: TenantStorage, names: readonly string[]): Promise<void>;
  /** Removes the listed names (and any that exist now) of a dropped tenant, leaving tombstones where it can. */
  destroy(via: Runner, storage: TenantStorage, names: readonly string[]): Promise<void>;
  /** Removes storage with no tombstones: undoing a create nobody saw, or purging tombstones. */
  remove(via: Runner, storage: TenantStorage): Promise<void>;
  /**
   * Deals with documents written through stale handles after a drop or a
   * move: moves them to `into`, or discards them when `into` is `null`.
   */
  sweep(via: Runner, tombstoned: TenantStorage, into: TenantStorage | null): Promise<StrayCount>;
  /** Names under a retired or dropped key that should be complete tombstones and are not (for `doctor`). */
  checkTombstones(via: Runner, tombstoned: TenantStorage): Promise<string[]>;
  /**
   * Makes each of `names` under `tombstoned` a complete tombstone again,
   * moving what it holds to `into` (or discarding it) as a drop or a move
   * would have (for `doctor`).
   */
  restoreTombstones(
    via: Runner,
    tombstoned: TenantStorage,
    names: readonly string[],
    into: TenantStorage | null,
  ): Promise<void>;
  /**
   * Every piece of this layout's storage that exists where each of `known`
   * (the storage the key claims name) lies, and, with `placed`, where this
   * driver places new tenants (for `doctor`). `placed` is false for a layout
   * the manager was not configured with: its default places may hold
   * another application's data.
   */
  survey(via: Runner, known: readonly KnownStorage[], placed: boolean): Promise<StoragePiece[]>;
  /** Removes a piece `survey` found and no tenant owns (for `doctor`, only when it holds no document). */
  removePiece(via: Runner, piece: StoragePiece): Promise<void>;
}
