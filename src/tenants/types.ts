import type { ObjectId } from 'mongodb';

/**
 * Where a tenant is in its life cycle. Only `active` tenants can be scoped
 * and signed in to; `suspended` ones keep their data until resumed or dropped.
 */
export type TenantStatus = 'creating' | 'active' | 'suspended' | 'renaming' | 'dropping';

/**
 * Every layout a tenant's storage can use, in the order of the docs: for a
 * configuration's allowed values (an environment variable, a zod enum).
 *
 * @example
 * ```ts
 * const layout = z.enum(STORAGE_KINDS).parse(process.env.TENANT_LAYOUT ?? 'collection');
 * ```
 */
export const STORAGE_KINDS = ['collection', 'database', 'shared'] as const;

/**
 * The layouts a tenant's storage can use: `collection` (a collection per
 * tenant, in one database), `database` (a database per tenant), `shared`
 * (shared collections whose documents carry a tenant field).
 */
export type StorageKind = (typeof STORAGE_KINDS)[number];

/**
 * Where a tenant's data lives: the registry's "connection details", one
 * shape per layout (narrow on `strategy`). Stored with the tenant and never
 * derived again, so a later change of a layout's options does not move
 * existing tenants.
 */
export type TenantStorage = CollectionStorage | DatabaseStorage | SharedStorage;

/** A collection per tenant: `collection` in `database`, named collections `<collection>__<name>` beside it. */
export interface CollectionStorage {
  readonly strategy: 'collection';
  readonly database: string;
  /** The tenant's default collection. */
  readonly collection: string;
}

/** A database per tenant: `database` is the tenant's own, named collections are inside it under their names. */
export interface DatabaseStorage {
  readonly strategy: 'database';
  readonly database: string;
  /** The tenant's default collection, inside its database. */
  readonly collection: string;
}

/**
 * Shared collections: the tenant's documents are those whose `field` holds
 * `value`, in `collection` (the default one) and `<collection>__<name>` (named ones) of `database`.
 */
export interface SharedStorage {
  readonly strategy: 'shared';
  readonly database: string;
  /** The shared default collection. */
  readonly collection: string;
  /** The tenant field every document carries. */
  readonly field: string;
  /** This tenant's value in it: the tenant's id. */
  readonly value: string;
}

/**
 * An organization as the registry knows it. Immutable: operations return a
 * new record rather than changing one you hold.
 */
export interface Tenant {
  /** Immutable id (24 hex characters); put this, never the name, in tokens and foreign keys. */
  readonly id: string;
  /** The display name, trimmed and NFC-normalized. */
  readonly name: string;
  /** The storage key (`[a-z0-9_]`, at most 48 characters) that physical names are built from. */
  readonly key: string;
  readonly status: TenantStatus;
  readonly storage: TenantStorage;
  /** The organization's admin, set by the AuthService; `null` until then. */
  readonly adminId: string | null;
  /** Your own JSON data about the organization. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * How many times `metadata` was replaced since the tenant was created (0 at first): pass it back as
   * `expectedRevision` to `TenantManager.updateMetadata`, which refuses the update if it changed meanwhile.
   */
  readonly metadataRevision: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A tenant record as stored in the master database. @internal */
export interface TenantDocument {
  _id: ObjectId;
  name: string;
  nameKey: string;
  /** The slug the current key was claimed from (a rename that keeps it moves nothing). */
  slug: string;
  key: string;
  status: TenantStatus;
  storage: TenantStorage;
  adminId: string | null;
  metadata: Record<string, unknown>;
  /** Incremented by each metadata update (see update-metadata.ts); absent (0) until the first. */
  metadataRevision?: number;
  createdAt: Date;
  updatedAt: Date;
  /** The epoch of the last lease that wrote the record (see lease.ts). */
  epoch?: number;
}

/** Turns a stored record into the frozen public {@link Tenant}. @internal */
export function toTenant(doc: TenantDocument): Tenant {
  return Object.freeze({
    id: doc._id.toHexString(),
    name: doc.name,
    key: doc.key,
    status: doc.status,
    storage: Object.freeze({ ...doc.storage }),
    adminId: doc.adminId,
    metadata: Object.freeze({ ...doc.metadata }),
    metadataRevision: doc.metadataRevision ?? 0,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  });
}
