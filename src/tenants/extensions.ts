/**
 * Extensions: the declared way for another part of an application (the
 * AuthService is one) to keep records of its own per tenant in the master
 * database and take part in the tenant life cycle, without the tenants layer
 * naming its collections or the extension reaching into the manager.
 *
 * An extension declares its collections. Those marked `perTenant` hold
 * documents that each belong to one tenant (by `tenantId`): a drop, and an
 * undone create, delete them with the tenant, and `doctor` reports those of
 * tenants that are gone. The declaration is recorded in the master database
 * (`tenancy_extensions`) by the extension's `init()`, so every process
 * removes them, even one that never registered the extension (an operator's
 * script, a recovery after a crash).
 */
import type { Collection, Db, ObjectId } from 'mongodb';
import { z } from 'zod';
import { TenancyError } from '../errors.js';
import { direct, executeExpecting, type Runner, ServerCode } from '../internal/execute.js';
import { validate } from '../internal/validate.js';
import type { Tenant } from './types.js';

/** Where extensions' declarations are recorded. */
export const EXTENSIONS_COLLECTION = 'tenancy_extensions';
/** Claims deciding which writer updates a tenant's metadata next (see update-metadata.ts): the manager's own. */
export const METADATA_CLAIMS_COLLECTION = 'organization_metadata_claims';

/**
 * What an extension keeps in the master database, declared once when it is
 * registered with {@link TenantManager.extend}.
 */
export interface TenantExtension {
  /** Unique per manager: 1 to 64 of `[a-z0-9_-]`. The AuthService's is `auth`. */
  readonly name: string;
  /**
   * Every master-database collection the extension keeps. With `perTenant`,
   * each document belongs to one tenant through a `tenantId` field holding
   * the tenant's id as an `ObjectId`: the manager deletes them with the tenant.
   */
  readonly collections: ReadonlyArray<{ readonly name: string; readonly perTenant?: boolean }>;
}

/**
 * Work done inside a create's journal, after the tenant's storage exists and
 * before it becomes `active` (the tenant passed is still `creating`). Every
 * database call goes through `via`, the create's lease (checked, bounded by
 * a deadline, reported to the hooks). What it returns is saved on the
 * record. If it throws, or the process dies, the create is undone, and with
 * it every document the extensions keep for the tenant.
 */
export type PrepareTenant = (tenant: Tenant, via: Runner) => Promise<{ adminId?: string } | undefined>;

/**
 * What {@link TenantManager.extend} gives an extension: the master database
 * for its collections, and a create that runs its own step inside the
 * create's journal.
 */
export interface TenantExtensionLink {
  /** The master database, where the extension keeps its collections. */
  readonly db: Db;
  /**
   * Records the declaration in the master database (idempotent): call it
   * before the extension writes its first document.
   *
   * @throws {@link TenancyError} `STORAGE`.
   */
  init(): Promise<void>;
  /**
   * Creates a tenant as {@link TenantManager.create} does, running `prepare`
   * inside its journal: both happen or neither does.
   *
   * @throws {@link TenancyError} as {@link TenantManager.create}, and whatever `prepare` throws.
   */
  create(input: { name: string; metadata?: Record<string, unknown> }, prepare: PrepareTenant): Promise<Tenant>;
}

interface Declaration {
  _id: string;
  perTenant: string[];
}

const NAME = /^[a-z0-9_-]{1,64}$/;
const COLLECTION = /^[A-Za-z0-9_-]{1,120}$/;
const extensionSchema = z
  .object({
    name: z.string().regex(NAME, '1 to 64 of a-z, 0-9, _ or -'),
    collections: z
      .array(
        z
          .object({
            name: z.string().regex(COLLECTION, '1 to 120 of A-Z, a-z, 0-9, _ or -'),
            perTenant: z.boolean().optional(),
          })
          .strict(),
      )
      .max(64),
  })
  .strict();

/**
 * The extensions registered with one manager, the collections the manager
 * keeps itself (`reserved`), and the declarations recorded in the master
 * database by any process.
 */
export class Extensions {
  readonly #master: Db;
  readonly #declarations: Collection<Declaration>;
  readonly #registered = new Map<string, TenantExtension>();
  readonly #reserved: ReadonlySet<string>;

  constructor(master: Db, reserved: readonly string[]) {
    this.#master = master;
    this.#declarations = master.collection<Declaration>(EXTENSIONS_COLLECTION);
    this.#reserved = new Set([...reserved, EXTENSIONS_COLLECTION, METADATA_CLAIMS_COLLECTION]);
  }

  /**
   * Registers an extension (again, harmlessly, with the same declaration).
   *
   * @throws {@link TenancyError} `INVALID_OPTIONS` for an invalid declaration, a collection the manager or
   * another extension keeps, or a second declaration under one name that differs.
   */
  register(extension: TenantExtension): TenantExtension {
    const parsed = validate(extensionSchema, extension, 'INVALID_OPTIONS', 'extension');
    const same = this.#registered.get(parsed.name);
    if (same) {
      if (JSON.stringify(same) !== JSON.stringify(parsed)) throw conflict(`"${parsed.name}" is registered already`);
      return same;
    }
    for (const { name } of parsed.collections) {
      const owner = [...this.#registered.values()].find((e) => e.collections.some((c) => c.name === name));
      if (this.#reserved.has(name) || owner) throw conflict(`the collection "${name}" is kept by another owner`);
    }
    this.#registered.set(parsed.name, parsed);
    return parsed;
  }

  /** Records an extension's per-tenant collections, so every process removes them with their tenants. */
  async record(extension: TenantExtension): Promise<void> {
    const perTenant = extension.collections.filter((c) => c.perTenant).map((c) => c.name);
    const upsert = () =>
      executeExpecting('record extension', ServerCode.DuplicateKey, false, (o) =>
        this.#declarations
          .updateOne(
            { _id: extension.name },
            { $addToSet: { perTenant: { $each: perTenant } } },
            { ...o, upsert: true },
          )
          .then(() => true),
      );
    // Two processes upserting the first declaration at once: one insert wins, the other's update then applies.
    if (!(await upsert())) await upsert();
  }

  /** Every collection whose documents belong to one tenant: the manager's own and every recorded extension's. */
  async perTenant(via: Runner = direct): Promise<string[]> {
    const recorded = await via.run('read extensions', (o) => this.#declarations.find({}, o).toArray());
    const local = [...this.#registered.values()].flatMap((e) => e.collections.filter((c) => c.perTenant));
    return [
      ...new Set([METADATA_CLAIMS_COLLECTION, ...recorded.flatMap((d) => d.perTenant), ...local.map((c) => c.name)]),
    ];
  }

  /** The tenants that own documents in a per-tenant collection (for `doctor`). */
  async ownerIds(): Promise<ObjectId[]> {
    const ids = new Map<string, ObjectId>();
    for (const name of await this.perTenant()) {
      const found = await direct.run('list owners', () => this.#master.collection(name).distinct('tenantId'));
      for (const id of found as ObjectId[]) ids.set(id.toHexString(), id);
    }
    return [...ids.values()];
  }

  /** Removes the tenant's documents from every per-tenant collection. */
  async removeOwned(via: Runner, id: ObjectId): Promise<void> {
    for (const name of await this.perTenant(via)) {
      await via.run('delete tenant-owned documents', (o) =>
        this.#master.collection(name).deleteMany({ tenantId: id }, o),
      );
    }
  }
}

function conflict(why: string): TenancyError<'INVALID_OPTIONS'> {
  return new TenancyError('INVALID_OPTIONS', `Invalid extension: ${why}`, { details: { field: 'collections' } });
}
