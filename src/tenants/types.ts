import type { ObjectId } from 'mongodb';

/**
 * Where a tenant is in its life cycle. Only `active` tenants can be scoped
 * and signed in to; `suspended` ones keep their data until resumed or dropped.
 */
export type TenantStatus = 'creating' | 'active' | 'suspended' | 'renaming' | 'dropping';

/** The isolation strategies a tenant's storage can use. */
export type StorageKind = 'collection';

/**
 * Where a tenant's data lives: the registry's "connection details".
 * Stored with the tenant and never derived again, so a later change of
 * strategy options does not move existing tenants.
 */
export interface TenantStorage {
  /** The isolation strategy that placed this tenant. */
  readonly strategy: StorageKind;
  /** The database that holds the tenant's collections. */
  readonly database: string;
  /** The tenant's default collection; named collections are `<collection>__<name>`. */
  readonly collection: string;
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
