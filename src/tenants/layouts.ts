/**
 * The layouts one manager works with: the default one (new tenants), the
 * others it was given, and, for a tenant whose layout it was not given
 * (created by another process), that layout with its default options, so
 * every tenant in the registry can always be scoped, dropped and recovered:
 * its record names all its storage, and a layout's options decide only
 * where new tenants go.
 */
import type { MongoClient } from 'mongodb';
import { TenancyError } from '../errors.js';
import { collectionPerTenant } from './strategies/collection.js';
import { databasePerTenant } from './strategies/database.js';
import { sharedCollections } from './strategies/shared.js';
import type { IsolationStrategy, StorageDriver, StrategyContext } from './strategies/strategy.js';
import type { StorageKind, TenantStorage } from './types.js';

const DEFAULTS: Readonly<Record<StorageKind, () => IsolationStrategy>> = {
  collection: () => collectionPerTenant(),
  database: () => databasePerTenant(),
  shared: () => sharedCollections(),
};

export const STORAGE_KINDS = Object.keys(DEFAULTS) as StorageKind[];

/** A tenant id for asking a layout where it would place a tenant. */
const PLACEHOLDER_ID = '000000000000000000000000';

export class Layouts {
  /** The layout of new tenants, unless a create names another. */
  readonly default: StorageDriver;
  readonly #context: StrategyContext;
  readonly #bound = new Map<StorageKind, StorageDriver>();
  readonly #configured: ReadonlySet<StorageKind>;

  /**
   * Binds each strategy (no I/O); kinds must be distinct (checked with the options).
   *
   * @throws {@link TenancyError} `INVALID_OPTIONS` when a layout's options cannot work with this master database, or
   * when one layout keeps its collections in a database another layout would create for a tenant.
   */
  constructor(
    client: MongoClient,
    masterDbName: string,
    primary: IsolationStrategy,
    others: readonly IsolationStrategy[],
  ) {
    this.#context = { client, masterDbName };
    this.default = this.#bind(primary);
    for (const strategy of others) this.#bind(strategy);
    this.#configured = new Set(this.#bound.keys());
    this.#checkPlaces();
  }

  /**
   * The driver for a layout, or for the layout a tenant's storage uses.
   *
   * @throws {@link TenancyError} `TENANT_UNAVAILABLE` for a layout this version does not know.
   */
  of(layout: StorageKind | TenantStorage): StorageDriver {
    const kind = typeof layout === 'string' ? layout : layout?.strategy;
    const bound = this.#bound.get(kind);
    if (bound) return bound;
    const fallback = DEFAULTS[kind];
    if (!fallback) throw new TenancyError('TENANT_UNAVAILABLE', `Unknown storage layout: ${String(kind)}`);
    return this.#bind(fallback());
  }

  /** Whether the manager was given this layout (as `strategy` or in `layouts`), rather than serving it with defaults. */
  configured(kind: StorageKind): boolean {
    return this.#configured.has(kind);
  }

  /** A driver for every layout (for `doctor`). */
  all(): StorageDriver[] {
    return STORAGE_KINDS.map((kind) => this.of(kind));
  }

  /**
   * A database per tenant owns every database whose name starts with its prefix (`doctor` reports and removes
   * them, a drop drops them): the collections of the other layouts must not live in one.
   */
  #checkPlaces(): void {
    const perTenant = this.#bound.get('database');
    if (!perTenant) return;
    // Where a tenant of key '' would go: the prefix itself (locate is pure).
    const prefix = perTenant.locate('', PLACEHOLDER_ID).database.toLowerCase();
    for (const kind of ['shared', 'collection'] as const) {
      const database = this.#bound.get(kind)?.locate('', PLACEHOLDER_ID).database;
      if (database?.toLowerCase().startsWith(prefix)) {
        throw new TenancyError(
          'INVALID_OPTIONS',
          `The ${kind} layout's database must not start with the database-per-tenant prefix`,
          { details: { field: 'database' } },
        );
      }
    }
  }

  #bind(strategy: IsolationStrategy): StorageDriver {
    const driver = strategy.bind(this.#context);
    this.#bound.set(driver.kind, driver);
    return driver;
  }
}
