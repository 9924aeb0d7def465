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

export class Layouts {
  /** The layout of new tenants, unless a create names another. */
  readonly default: StorageDriver;
  readonly #context: StrategyContext;
  readonly #bound = new Map<StorageKind, StorageDriver>();
  readonly #configured: ReadonlySet<StorageKind>;

  /** Binds each strategy (no I/O); kinds must be distinct (checked with the options). */
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

  #bind(strategy: IsolationStrategy): StorageDriver {
    const driver = strategy.bind(this.#context);
    this.#bound.set(driver.kind, driver);
    return driver;
  }
}
