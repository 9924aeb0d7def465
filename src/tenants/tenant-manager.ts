/**
 * The TenantManager: a thin public face over the registry, the journal and
 * the isolation strategy.
 */
import type { Collection, Db, Document, MongoClient, ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { execute } from '../internal/execute.js';
import { KeyClaims, NameClaims } from './claims.js';
import { type BeforeActivate, createTenant } from './create.js';
import { type DoctorReport, runDoctor } from './doctor.js';
import { dropTenant } from './drop.js';
import { Journal } from './journal.js';
import { parseMetadata } from './metadata.js';
import { parseName } from './names.js';
import type { OperationContext } from './operation.js';
import {
  type CreateTenantInput,
  DEFAULT_MASTER_DB_NAME,
  type ListOptions,
  parseCreateInput,
  parseDoctorOptions,
  parseListOptions,
  parsePurgeOptions,
  resolveOptions,
  type TenantManagerOptions,
} from './options.js';
import { type PurgeReport, purgeTombstones } from './purge.js';
import { type RecoveryReport, recoverAll, settleOperation } from './recovery.js';
import { parseRef, type TenantRef } from './refs.js';
import { Registry } from './registry.js';
import { renameTenant, tenantNotFound } from './rename.js';
import { settleHolder } from './repair.js';
import { setSuspended } from './status.js';
import { collectionPerTenant } from './strategies/collection.js';
import type { StorageDriver } from './strategies/strategy.js';
import { type Tenant, type TenantDocument, toTenant } from './types.js';
import { parseMetadataUpdate, type UpdateMetadataOptions, updateTenantMetadata } from './update-metadata.js';

/**
 * Creates a tenant and runs `beforeActivate` inside the create's journal, so
 * both happen or neither does. For the AuthService; not exported from the
 * package. @internal
 */
export let createWithinJournal: (
  manager: TenantManager,
  input: CreateTenantInput,
  beforeActivate: BeforeActivate,
) => Promise<Tenant>;

/** A page of tenants, oldest first. */
export interface TenantPage {
  readonly tenants: readonly Tenant[];
  /** Pass as `after` for the next page; `null` on the last page. */
  readonly next: string | null;
}

/** A tenant's data, through the ordinary driver API. */
export interface TenantScope {
  readonly tenant: Tenant;
  /**
   * The driver `Collection` for the tenant's default collection, or for a
   * named one (1 to 64 of `[A-Za-z0-9_-]`). No wrapper, no per-call cost.
   *
   * @throws {@link TenancyError} `INVALID_INPUT` for an invalid name.
   */
  collection<T extends Document = Document>(name?: string): Collection<T>;
}

/**
 * Creates, finds, lists, renames and drops organizations, each with storage
 * of its own, keeping a registry in the master database that agrees with
 * that storage even when a process dies half-way through an operation.
 *
 * The constructor only validates; {@link TenantManager.init} touches the
 * database (and is run for you by the first call that needs it).
 *
 * @example
 * ```ts
 * const tenants = new TenantManager({ client });
 * await tenants.init();
 * const acme = await tenants.create({ name: 'Acme Corp' });
 * await tenants.scope(acme).collection('orders').insertOne({ total: 42 });
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` naming each invalid option.
 */
export class TenantManager implements AsyncDisposable {
  /** The master database holding the registry. */
  readonly master: Db;
  readonly #ctx: OperationContext;
  readonly #storage: StorageDriver;
  readonly #inFlight = new Set<Promise<unknown>>();
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: TenantManagerOptions) {
    const o = resolveOptions(options);
    this.master = o.db ?? (o.client as MongoClient).db(o.masterDbName ?? DEFAULT_MASTER_DB_NAME);
    this.#storage = (o.strategy ?? collectionPerTenant()).bind({
      client: this.master.client,
      masterDbName: this.master.databaseName,
    });
    const hooks = {
      afterStep: o.hooks.afterStep ?? (() => undefined),
      afterCall: o.hooks.afterCall ?? (() => undefined),
    };
    this.#ctx = {
      registry: new Registry(this.master),
      names: new NameClaims(this.master),
      keys: new KeyClaims(this.master),
      journal: new Journal(this.master, o.leaseMs, o.clock, hooks),
      storage: this.#storage,
      clock: o.clock,
      settle: (lease) => settleOperation(this.#ctx, lease),
    };
  }

  /**
   * Creates the registry's indexes and recovers interrupted operations.
   * Idempotent; other methods call it for you.
   *
   * @example
   * ```ts
   * await tenants.init();
   * ```
   * @throws {@link TenancyError} `STORAGE` when the database cannot be reached.
   */
  init(): Promise<void> {
    if (this.#closed) return Promise.reject(new TenancyError('CLOSED'));
    this.#ready ??= this.#initialize().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /**
   * Creates an organization and its storage.
   *
   * @example
   * ```ts
   * const acme = await tenants.create({ name: 'Acme Corp', metadata: { plan: 'pro' } });
   * acme.storage.collection; // 'org_acme_corp'
   * ```
   * @throws {@link TenancyError} `INVALID_NAME`, `INVALID_INPUT`, `TENANT_EXISTS`, `STORAGE`.
   */
  create(input: CreateTenantInput): Promise<Tenant> {
    return this.#create(input);
  }

  #create(input: CreateTenantInput, beforeActivate?: BeforeActivate): Promise<Tenant> {
    return this.#run(async () => {
      const { name, metadata } = parseCreateInput(input);
      const parsed = parseName(name);
      const holders = (holder: ObjectId, nameKey: string) => settleHolder(this.#ctx, holder, nameKey);
      return toTenant(await createTenant(this.#ctx, parsed, parseMetadata(metadata), holders, beforeActivate));
    });
  }

  static {
    createWithinJournal = (manager, input, beforeActivate) => manager.#create(input, beforeActivate);
  }

  /**
   * Finds an organization by id (a string, or `{ id }`) or by name (`{ name }`: any
   * spelling with the same name key, so `ACME corp` finds `Acme Corp`). A string is
   * always an id, never a name. `null` when there is none.
   *
   * @example
   * ```ts
   * const acme = await tenants.get({ name: 'Acme Corp' });
   * const same = await tenants.get(acme.id);
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT` for a string that is not an id, `INVALID_NAME` for `{ name }` with an invalid name, `STORAGE`.
   */
  get(ref: TenantRef): Promise<Tenant | null> {
    return this.#run(async () => {
      const doc = await this.#find(ref);
      return doc ? toTenant(doc) : null;
    });
  }

  /**
   * Lists organizations oldest first, a page at a time. The cursor is
   * stable: a page never repeats or skips a tenant that existed throughout.
   *
   * @example
   * ```ts
   * for (let page = await tenants.list({ limit: 100 }); ; page = await tenants.list({ limit: 100, after: page.next })) {
   *   for (const t of page.tenants) console.log(t.name);
   *   if (!page.next) break;
   * }
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT` for a bad limit or cursor, `STORAGE`.
   */
  list(options: ListOptions = {}): Promise<TenantPage> {
    return this.#run(async () => {
      const { limit, after } = parseListOptions(options);
      const docs = await this.#ctx.registry.list(after, limit + 1);
      const page = docs.slice(0, limit).map(toTenant);
      return { tenants: page, next: docs.length > limit ? (page.at(-1)?.id ?? null) : null };
    });
  }

  /**
   * Renames an organization. The old name is free at once and the new one
   * finds the tenant; no document is copied in either rename mode.
   *
   * @example
   * ```ts
   * const renamed = await tenants.rename(acme.id, 'Acme Industries');
   * ```
   * @throws {@link TenancyError} `INVALID_NAME`, `TENANT_NOT_FOUND`, `TENANT_EXISTS`, `CONFLICT`, `STORAGE`.
   */
  rename(ref: TenantRef, newName: string): Promise<Tenant> {
    return this.#run(async () => {
      const parsed = parseName(newName);
      const doc = await this.#find(ref);
      if (!doc) throw tenantNotFound();
      const holders = (holder: ObjectId, nameKey: string) => settleHolder(this.#ctx, holder, nameKey);
      return toTenant(await renameTenant(this.#ctx, doc, parsed, holders));
    });
  }

  /**
   * Drops an organization: its storage, then its registry record. Returns
   * `false` (and does nothing) when there is no such tenant, so a second
   * call is harmless.
   *
   * @example
   * ```ts
   * await tenants.drop(acme.id); // true
   * await tenants.drop(acme.id); // false
   * ```
   * @throws {@link TenancyError} `CONFLICT` while another operation holds the tenant, `STORAGE`.
   */
  drop(ref: TenantRef): Promise<boolean> {
    return this.#run(async () => {
      const doc = await this.#find(ref);
      return doc ? dropTenant(this.#ctx, doc._id) : false;
    });
  }

  /**
   * Replaces an organization's metadata (plain JSON, at most 16 KiB), if it
   * was not updated since the caller read it: pass the `metadataRevision` of
   * the {@link Tenant} the new metadata was computed from as
   * `expectedRevision`. Of two writers that read the same revision, one wins
   * and the other gets `CONFLICT` and changes nothing: read the tenant again
   * and retry. The revision is a counter on the record, not a timestamp, so
   * clocks and millisecond ties cannot let a stale write through. Only an
   * `active` or `suspended` organization's metadata can be updated.
   *
   * @example
   * ```ts
   * const acme = await tenants.get({ name: 'Acme Corp' });
   * const updated = await tenants.updateMetadata(acme.id, { ...acme.metadata, plan: 'enterprise' }, {
   *   expectedRevision: acme.metadataRevision,
   * });
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT` (metadata or options), `TENANT_NOT_FOUND`, `TENANT_UNAVAILABLE`
   * (being created, renamed or dropped), `CONFLICT` (updated meanwhile), `STORAGE`.
   */
  updateMetadata(ref: TenantRef, metadata: Record<string, unknown>, options: UpdateMetadataOptions): Promise<Tenant> {
    return this.#run(async () => {
      const update = parseMetadataUpdate(metadata, options);
      const doc = await this.#find(ref);
      if (!doc) throw tenantNotFound();
      return toTenant(
        await updateTenantMetadata(this.#ctx, this.master, doc._id, update.metadata, update.expectedRevision),
      );
    });
  }

  /**
   * Suspends an organization: its data stays, but it cannot be scoped, its
   * admins cannot sign in, and their tokens stop verifying until
   * {@link TenantManager.resume}. Suspending a suspended tenant is harmless.
   *
   * @example
   * ```ts
   * await tenants.suspend(acme.id);
   * ```
   * @throws {@link TenancyError} `TENANT_NOT_FOUND`, `TENANT_UNAVAILABLE` (mid-operation), `CONFLICT`, `STORAGE`.
   */
  suspend(ref: TenantRef): Promise<Tenant> {
    return this.#setSuspended(ref, true);
  }

  /**
   * Makes a suspended organization active again.
   *
   * @example
   * ```ts
   * await tenants.resume(acme.id);
   * ```
   * @throws {@link TenancyError} `TENANT_NOT_FOUND`, `TENANT_UNAVAILABLE` (mid-operation), `CONFLICT`, `STORAGE`.
   */
  resume(ref: TenantRef): Promise<Tenant> {
    return this.#setSuspended(ref, false);
  }

  #setSuspended(ref: TenantRef, suspended: boolean): Promise<Tenant> {
    return this.#run(async () => {
      const doc = await this.#find(ref);
      if (!doc) throw tenantNotFound();
      return toTenant(await setSuspended(this.#ctx, doc._id, suspended));
    });
  }

  /**
   * The tenant's data. Synchronous and free: it builds driver handles from
   * the record you pass, with no database round trip.
   *
   * @example
   * ```ts
   * const orders = tenants.scope(acme).collection<{ total: number }>('orders');
   * await orders.insertOne({ total: 42 });
   * ```
   * @throws {@link TenancyError} `TENANT_UNAVAILABLE` when the record is not `active`, `INVALID_INPUT`.
   */
  scope(tenant: Tenant): TenantScope {
    this.#assertOpen();
    if (tenant?.status !== 'active' || tenant.storage?.strategy !== this.#storage.kind) {
      throw new TenancyError('TENANT_UNAVAILABLE', 'Only an active tenant record of this manager can be scoped');
    }
    const storage = this.#storage;
    return Object.freeze({
      tenant,
      collection: <T extends Document = Document>(name?: string) => storage.collection<T>(tenant.storage, name),
    });
  }

  /**
   * Finishes or undoes every operation whose holder died (its lease expired).
   * `init()` runs it; run it again whenever you like.
   *
   * @example
   * ```ts
   * const { operations, failed } = await tenants.recover();
   * ```
   * @throws {@link TenancyError} `STORAGE`.
   */
  recover(): Promise<RecoveryReport> {
    return this.#run(async () => recoverAll(this.#ctx), false);
  }

  /**
   * Removes the tombstones left at the old physical names of dropped tenants
   * and of tenants renamed with `renameStorage`, once they are older than
   * `olderThanMs`, and frees those keys for new tenants. Run it when no
   * process still holds driver handles taken before those operations.
   *
   * @example
   * ```ts
   * const report = await tenants.purgeTombstones({ olderThanMs: 7 * 24 * 3600_000 });
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT`, `STORAGE`.
   */
  purgeTombstones(options: { olderThanMs?: number } = {}): Promise<PurgeReport> {
    return this.#run(async () => {
      const { olderThanMs } = parsePurgeOptions(options);
      return purgeTombstones(this.#ctx, new Date(this.#ctx.clock().getTime() - olderThanMs + 1));
    });
  }

  /**
   * Checks the registry against the claims, the journal and the storage:
   * operations whose holder died, stale takeover claims, records stranded in
   * a transitional status, claims no record carries, records without their
   * name claim or storage, incomplete tombstones, and collections no key
   * owns. With `fix`, repairs each under the tenant's lease (a collection no
   * key owns is dropped only when empty). Tenants with an operation under way
   * are skipped. Reads the whole registry: run it as an operator, not per
   * request.
   *
   * @example
   * ```ts
   * const { findings } = await tenants.doctor({ fix: true });
   * for (const f of findings) console.log(f.kind, f.subject, f.fixed);
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT`, `STORAGE`.
   */
  doctor(options: { fix?: boolean } = {}): Promise<DoctorReport> {
    return this.#run(async () => {
      const { fix } = parseDoctorOptions(options);
      return runDoctor(this.#ctx, fix);
    });
  }

  /**
   * Stops taking calls and waits for the ones in flight. The `MongoClient`
   * stays open: it is yours.
   *
   * @example
   * ```ts
   * await tenants.close();
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #initialize(): Promise<void> {
    // One connection attempt first, so an unreachable server is reported with its cause: after a failed first
    // connection the driver closes the client, and calls made in parallel would only say "Topology is closed".
    await execute('connect', () => this.master.client.connect());
    await Promise.all([
      this.#ctx.registry.ensureIndexes(),
      this.#ctx.names.ensureIndexes(),
      this.#ctx.keys.ensureIndexes(),
      this.#ctx.journal.ensureIndexes(),
    ]);
    await recoverAll(this.#ctx);
  }

  async #find(ref: TenantRef): Promise<TenantDocument | null> {
    const key = parseRef(ref);
    if ('id' in key) return this.#ctx.registry.findById(key.id);
    // By name through its claim: the claim decides which tenant carries a name, and both reads are by _id.
    const holder = await this.#ctx.names.holder(key.nameKey);
    const doc = holder ? await this.#ctx.registry.findById(holder) : null;
    return doc?.nameKey === key.nameKey ? doc : null;
  }

  #run<T>(body: () => Promise<T>, needsInit = true): Promise<T> {
    if (this.#closed) return Promise.reject(new TenancyError('CLOSED'));
    const task = (needsInit ? this.init() : Promise.resolve()).then(body);
    this.#inFlight.add(task);
    const forget = () => this.#inFlight.delete(task);
    task.then(forget, forget);
    return task;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TenancyError('CLOSED');
  }
}
