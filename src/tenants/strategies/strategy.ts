import type { Collection, Document, MongoClient } from 'mongodb';
import type { Runner } from '../../internal/execute.js';
import type { StorageKind, TenantStorage } from '../types.js';
import type { StrayCount } from './tombstone.js';

/** What a strategy is given when a manager binds it. @internal */
export interface StrategyContext {
  readonly client: MongoClient;
  readonly masterDbName: string;
}

/**
 * An isolation strategy: how a tenant's data is laid out in MongoDB. Create
 * one with a factory such as {@link collectionPerTenant} and pass it to the
 * `TenantManager`.
 */
export interface IsolationStrategy {
  readonly kind: StorageKind;
  /** @internal */
  bind(context: StrategyContext): StorageDriver;
}

/**
 * The physical side of a strategy. Every method is idempotent, so a crashed
 * operation can run it again, and every database call it makes goes through
 * `via` (the operation's lease: checked, bounded by a deadline, reported).
 * @internal
 */
export interface StorageDriver {
  readonly kind: StorageKind;
  /** Whether `rename` moves storage to names built from the new key. */
  readonly renamesStorage: boolean;
  /** The storage for a key (pure: no I/O). */
  locate(key: string): TenantStorage;
  /** The driver collection for a tenant (pure: no I/O). */
  collection<T extends Document>(storage: TenantStorage, name?: string): Collection<T>;
  /** Creates the tenant's storage. */
  provision(via: Runner, storage: TenantStorage): Promise<void>;
  /**
   * The physical names of the tenant's storage that exist now. Operations
   * journal this list before they move or destroy, so a retry after a crash
   * still knows names that no longer exist.
   */
  inventory(via: Runner, storage: TenantStorage): Promise<string[]>;
  /** Moves the listed names (and any that exist now) to `to`, leaving tombstones behind. */
  move(via: Runner, from: TenantStorage, to: TenantStorage, names: readonly string[]): Promise<void>;
  /** Removes the listed names (and any that exist now), leaving tombstones behind. */
  destroy(via: Runner, storage: TenantStorage, names: readonly string[]): Promise<void>;
  /** Removes storage with no tombstones (undoing a create nobody saw). */
  remove(via: Runner, storage: TenantStorage): Promise<void>;
  /**
   * Deals with documents written through stale handles into tombstones:
   * moves them to `into`, or discards them when `into` is `null`.
   */
  sweep(via: Runner, tombstoned: TenantStorage, into: TenantStorage | null): Promise<StrayCount>;
  /**
   * What is wrong with the tombstones under a retired or dropped key: names
   * that should be complete tombstones and are not (for `doctor`).
   */
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
  /** Every physical name in `database` that belongs to the library, with the key it is built on (for `doctor`). */
  physicalNames(via: Runner, database: string): Promise<Array<{ name: string; key: string; documents: number }>>;
  /** Drops a collection no key owns (for `doctor`). */
  dropStray(via: Runner, database: string, name: string): Promise<void>;
}
