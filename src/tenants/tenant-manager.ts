/**
 * The TenantManager: a thin public face over the registry, the journal and
 * the isolation strategy.
 */
import type { Db, ObjectId } from 'mongodb';
import { requireTenant } from '../context/tenant-context.js';
import { TenancyError } from '../errors.js';
import { Listeners } from '../internal/listeners.js';
import type { TenantChange, TenantChangeListener } from './changes.js';
import { buildContext, findTenant, initialize, masterOf } from './context.js';
import { createTenant } from './create.js';
import { type DoctorReport, runDoctor } from './doctor.js';
import { dropTenant } from './drop.js';
import type { PrepareTenant, TenantExtension, TenantExtensionLink } from './extensions.js';
import { parseMetadata } from './metadata.js';
import { parseName } from './names.js';
import type { OperationContext } from './operation.js';
import {
  type CreateTenantInput,
  type ListOptions,
  parseCreateInput,
  parseDoctorOptions,
  parseListOptions,
  parsePurgeOptions,
  resolveOptions,
  type TenantManagerOptions,
} from './options.js';
import { type PurgeReport, purgeTombstones } from './purge.js';
import { type RecoveryReport, recoverAll } from './recovery.js';
import type { TenantRef } from './refs.js';
import { renameTenant, tenantNotFound } from './rename.js';
import { settleHolder } from './repair.js';
import { scopeOf, type TenantScope } from './scope.js';
import { setSuspended } from './status.js';
import { type Tenant, type TenantDocument, toTenant } from './types.js';
import { parseMetadataUpdate, type UpdateMetadataOptions, updateTenantMetadata } from './update-metadata.js';

/** A page of tenants, oldest first. */
export interface TenantPage {
  readonly tenants: readonly Tenant[];
  /** Pass as `after` for the next page; `null` on the last page. */
  readonly next: string | null;
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
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #changes = new Listeners<TenantChange>();
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: TenantManagerOptions) {
    const resolved = resolveOptions(options);
    this.master = masterOf(resolved);
    this.#ctx = buildContext(this.master, resolved);
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
    this.#ready ??= initialize(this.#ctx, this.master).catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /**
   * Creates an organization and its storage, in the manager's default layout or the one `layout` names.
   *
   * @example
   * ```ts
   * const acme = await tenants.create({ name: 'Acme Corp', metadata: { plan: 'pro' } });
   * acme.storage.collection; // 'org_acme_corp'
   * const big = await tenants.create({ name: 'Big Corp', layout: 'database' }); // a database of its own
   * ```
   * @throws {@link TenancyError} `INVALID_NAME`, `INVALID_INPUT`, `TENANT_EXISTS`, `STORAGE`.
   */
  create(input: CreateTenantInput): Promise<Tenant> {
    return this.#create(input);
  }

  #create(input: CreateTenantInput, prepare?: PrepareTenant): Promise<Tenant> {
    return this.#run(async () => {
      const { name, metadata, layout } = parseCreateInput(input);
      const request = { parsed: parseName(name), metadata: parseMetadata(metadata), layout };
      const holders = (holder: ObjectId, nameKey: string) => settleHolder(this.#ctx, holder, nameKey);
      return this.#changed('created', toTenant(await createTenant(this.#ctx, request, holders, prepare)));
    });
  }

  /**
   * Registers an extension: something that keeps records of its own per
   * tenant in the master database (the AuthService does) and may run a step
   * of its own inside a create's journal. Its per-tenant documents are
   * removed with their tenant. Synchronous: the link's `init()` records the
   * declaration.
   *
   * @example
   * ```ts
   * const link = tenants.extend({ name: 'billing', collections: [{ name: 'billing_accounts', perTenant: true }] });
   * await link.init();
   * const tenant = await link.create({ name: 'Acme Corp' }, async (t, via) => {
   *   await via.run('open account', (o) => link.db.collection('billing_accounts').insertOne({ tenantId: new ObjectId(t.id) }, o));
   *   return undefined;
   * });
   * ```
   * @throws {@link TenancyError} `INVALID_OPTIONS` for an invalid declaration or a collection someone else keeps.
   */
  extend(extension: TenantExtension): TenantExtensionLink {
    const declared = this.#ctx.extensions.register(extension);
    return Object.freeze({
      db: this.master,
      init: () => this.#run(() => this.#ctx.extensions.record(declared)),
      create: (input: CreateTenantInput, prepare: PrepareTenant) => this.#create(input, prepare),
    });
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
      return this.#changed('renamed', toTenant(await renameTenant(this.#ctx, doc, parsed, holders)));
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
      if (!doc) return false;
      const dropped = await dropTenant(this.#ctx, doc._id);
      this.#changes.emit({ kind: 'dropped', tenantId: doc._id.toHexString() });
      return dropped;
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
      const updated = await updateTenantMetadata(
        this.#ctx,
        this.master,
        doc._id,
        update.metadata,
        update.expectedRevision,
      );
      return this.#changed('metadata', toTenant(updated));
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
      return this.#changed(
        suspended ? 'suspended' : 'resumed',
        toTenant(await setSuspended(this.#ctx, doc._id, suspended)),
      );
    });
  }

  /**
   * The tenant's data. Synchronous and free: it builds driver handles from
   * the record you pass, or, with no argument, from the current tenant
   * context (`runWithTenant`), with no database round trip.
   *
   * @example
   * ```ts
   * const orders = tenants.scope(acme).collection<{ total: number }>('orders');
   * await orders.insertOne({ total: 42 });
   * ```
   * @throws {@link TenancyError} `TENANT_UNAVAILABLE` when the record is not `active`, `INVALID_INPUT`;
   * `NO_TENANT_CONTEXT` with no argument outside a tenant context (`scope(undefined)` is not the same call: it throws).
   */
  scope(...given: [tenant: Tenant] | []): TenantScope {
    this.#assertOpen();
    return scopeOf(this.#ctx.layouts, given.length === 0 ? requireTenant() : given[0]);
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

  /**
   * Calls `listener` after each create, rename, suspend, resume, drop and
   * metadata update this manager makes, once it is done: for caches of
   * answers about tenants. Changes other processes make are not reported.
   *
   * @example
   * ```ts
   * const stop = tenants.onChange(({ kind, tenantId }) => cache.delete(tenantId));
   * stop(); // no more calls
   * ```
   * @returns A function that removes the listener.
   * @throws Nothing; what a listener throws is ignored.
   */
  onChange(listener: TenantChangeListener): () => void {
    return this.#changes.on(listener);
  }

  #changed(kind: TenantChange['kind'], tenant: Tenant): Tenant {
    this.#changes.emit({ kind, tenantId: tenant.id });
    return tenant;
  }

  #find(ref: TenantRef): Promise<TenantDocument | null> {
    return findTenant(this.#ctx, ref);
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
