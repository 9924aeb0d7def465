/**
 * Claims on names, made unique by the server's `_id` index: every uniqueness
 * rule of the library is an insert that fails with a duplicate key, never a
 * read-then-write and never an update (some servers, FerretDB v1 among them,
 * do not report a unique-index violation on update as a duplicate key).
 *
 * - Name claims (`organization_names`): one per name key, held by the tenant
 *   that carries the name.
 * - Key claims (`organization_keys`): one per storage key, held from the
 *   moment the tenant's storage may exist until its last tombstone is purged,
 *   so two tenants never share a physical name. States: `active` (the
 *   tenant's current key), `retired` (an old key of a tenant renamed with
 *   `renameStorage`) and `dropped` (the tombstones of a dropped tenant).
 */
import type { Collection, Db, ObjectId } from 'mongodb';
import { execute, executeExpecting, ServerCode } from '../internal/execute.js';
import { keyCandidates } from './names.js';
import type { TenantStorage } from './types.js';

export const NAMES_COLLECTION = 'organization_names';
export const KEYS_COLLECTION = 'organization_keys';
export type KeyState = 'active' | 'retired' | 'dropped';

interface Claim {
  _id: string;
  tenantId: ObjectId;
}

export interface KeyClaim extends Claim {
  state: KeyState;
  /** The storage built on this key, so tombstones can be found after the tenant is gone. */
  storage: TenantStorage;
  updatedAt: Date;
}

const TAKEN = Symbol('taken');

class ClaimSet {
  protected readonly claims: Collection<Claim>;

  constructor(master: Db, name: string) {
    this.claims = master.collection<Claim>(name);
  }

  ensureIndexes(): Promise<unknown> {
    return execute('create claim indexes', () =>
      this.claims.createIndexes([{ key: { tenantId: 1 }, name: 'tenantId' }]),
    );
  }

  /** Inserts a claim; `false` when its `_id` is held already. */
  async tryInsert(claim: Claim): Promise<boolean> {
    const result = await executeExpecting('claim', ServerCode.DuplicateKey, TAKEN, () => this.claims.insertOne(claim));
    return result !== TAKEN;
  }

  ofTenant(tenantId: ObjectId): Promise<Claim[]> {
    return execute('find claims', () => this.claims.find({ tenantId }).toArray());
  }

  async release(id: string, tenantId: ObjectId): Promise<void> {
    await execute('release claim', () => this.claims.deleteOne({ _id: id, tenantId }));
  }

  /** The tenant holding a claim, if any. */
  async holder(id: string): Promise<ObjectId | null> {
    return (await execute('find claim', () => this.claims.findOne({ _id: id })))?.tenantId ?? null;
  }

  /** Releases every claim of the tenant but `keep`. */
  async releaseAllBut(tenantId: ObjectId, keep: string | undefined): Promise<void> {
    for (const claim of await this.ofTenant(tenantId)) {
      if (claim._id !== keep) await this.release(claim._id, tenantId);
    }
  }
}

/** Claims on name keys: the one rule that two organizations never share a name. */
export class NameClaims extends ClaimSet {
  constructor(master: Db) {
    super(master, NAMES_COLLECTION);
  }

  /**
   * Claims a name key; `false` when a live tenant holds it. A holder whose
   * operation died (its lease expired) is settled first, through `recover`.
   */
  async claim(nameKey: string, tenantId: ObjectId, recover: (holder: ObjectId) => Promise<boolean>): Promise<boolean> {
    if (await this.tryInsert({ _id: nameKey, tenantId })) return true;
    const holder = await this.holder(nameKey);
    return holder !== null && (await recover(holder)) && this.tryInsert({ _id: nameKey, tenantId });
  }
}

/** Claims on storage keys. */
export class KeyClaims extends ClaimSet {
  readonly #keys: Collection<KeyClaim>;

  constructor(master: Db) {
    super(master, KEYS_COLLECTION);
    this.#keys = master.collection<KeyClaim>(KEYS_COLLECTION);
  }

  /** The tenant's key claims, with their states. */
  keysOf(tenantId: ObjectId): Promise<KeyClaim[]> {
    return execute('find keys', () => this.#keys.find({ tenantId }).toArray());
  }

  /** Claims the first free key derived from `slug` for `tenantId`. */
  async claim(slug: string, tenantId: ObjectId, locate: (key: string) => TenantStorage, now: Date): Promise<string> {
    let key = '';
    for (key of keyCandidates(slug)) {
      const claim: KeyClaim = { _id: key, tenantId, state: 'active', storage: locate(key), updatedAt: now };
      if (await this.tryInsert(claim)) break;
    }
    return key;
  }

  withStates(states: readonly KeyState[], before: Date): Promise<KeyClaim[]> {
    const filter = { state: { $in: [...states] }, updatedAt: { $lt: before } };
    return execute('find keys', () => this.#keys.find(filter).toArray());
  }

  async setState(key: string, tenantId: ObjectId, state: KeyState, now: Date): Promise<void> {
    await execute('update key', () =>
      this.#keys.updateOne({ _id: key, tenantId }, { $set: { state, updatedAt: now } }),
    );
  }
}
