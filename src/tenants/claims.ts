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
 *
 * Claims are written under the tenant's lease and fenced by its epoch (see
 * lease.ts): a release or a state change from a lease that was taken over
 * matches nothing.
 */
import type { Collection, Db, ObjectId } from 'mongodb';
import { direct, executeExpecting, type Runner, ServerCode } from '../internal/execute.js';
import type { Lease } from './lease.js';
import { keyCandidates } from './names.js';
import type { TenantStorage } from './types.js';

export const NAMES_COLLECTION = 'organization_names';
export const KEYS_COLLECTION = 'organization_keys';
export type KeyState = 'active' | 'retired' | 'dropped';

export interface Claim {
  _id: string;
  tenantId: ObjectId;
  /** The epoch of the last lease that wrote the claim. */
  epoch?: number;
}

export interface KeyClaim extends Claim {
  state: KeyState;
  /** The storage built on this key, so tombstones can be found after the tenant is gone. */
  storage: TenantStorage;
  updatedAt: Date;
}

class ClaimSet<C extends Claim> {
  protected readonly claims: Collection<C>;

  constructor(master: Db, name: string) {
    this.claims = master.collection<C>(name);
  }

  ensureIndexes(): Promise<unknown> {
    return direct.run('create claim indexes', () =>
      this.claims.createIndexes([{ key: { tenantId: 1 }, name: 'tenantId' }]),
    );
  }

  /** Inserts a claim under the lease; `false` when its `_id` is held already. */
  tryInsert(lease: Lease, claim: C): Promise<boolean> {
    const doc = { ...claim, epoch: lease.epoch } as Parameters<Collection<C>['insertOne']>[0];
    return executeExpecting(
      'claim',
      ServerCode.DuplicateKey,
      false,
      (o) => this.claims.insertOne(doc, o).then(() => true),
      lease,
    );
  }

  ofTenant(tenantId: ObjectId, via: Runner = direct): Promise<C[]> {
    return via.run('find claims', (o) => this.claims.find({ tenantId } as never, o).toArray() as Promise<C[]>);
  }

  /** Every claim (for `doctor`). */
  all(): Promise<C[]> {
    return direct.run('list claims', () => this.claims.find({}).toArray() as Promise<C[]>);
  }

  async release(lease: Lease, id: string): Promise<void> {
    await lease.run('release claim', (o) =>
      this.claims.deleteOne({ _id: id, tenantId: lease.tenantId, ...lease.fence } as never, o),
    );
  }

  /** Marks a claim the lease keeps as its own, so an older lease's late release of it matches nothing. */
  async keep(lease: Lease, id: string): Promise<void> {
    await lease.run('fence claim', (o) =>
      this.claims.updateOne(
        { _id: id, tenantId: lease.tenantId, ...lease.fence } as never,
        { $set: { epoch: lease.epoch } } as never,
        o,
      ),
    );
  }

  /** The tenant holding a claim, if any. */
  async holder(id: string): Promise<ObjectId | null> {
    const claim = await direct.run('find claim', () => this.claims.findOne({ _id: id } as never));
    return (claim as C | null)?.tenantId ?? null;
  }

  /** Releases every claim of the lease's tenant but `keep` (which it fences). */
  async releaseAllBut(lease: Lease, keep: string | undefined): Promise<void> {
    for (const claim of await this.ofTenant(lease.tenantId, lease)) {
      if (claim._id !== keep) await this.release(lease, claim._id);
    }
    if (keep !== undefined) await this.keep(lease, keep);
  }
}

/** Claims on name keys: the one rule that two organizations never share a name. */
export class NameClaims extends ClaimSet<Claim> {
  constructor(master: Db) {
    super(master, NAMES_COLLECTION);
  }

  /**
   * Claims a name key for the lease's tenant; `false` when a live tenant
   * holds it. A holder whose operation died, or whose claim outlived its
   * operation, is settled first through `settle` (which says whether it did).
   */
  async claim(lease: Lease, nameKey: string, settle: (holder: ObjectId) => Promise<boolean>): Promise<boolean> {
    const claim = { _id: nameKey, tenantId: lease.tenantId };
    if (await this.tryInsert(lease, claim)) return true;
    const holder = await this.holder(nameKey);
    if (holder?.equals(lease.tenantId)) {
      await this.keep(lease, nameKey); // left by an earlier attempt of this tenant
      return true;
    }
    return holder !== null && (await settle(holder)) && this.tryInsert(lease, claim);
  }
}

/** Claims on storage keys. */
export class KeyClaims extends ClaimSet<KeyClaim> {
  constructor(master: Db) {
    super(master, KEYS_COLLECTION);
  }

  /** The tenant's key claims, with their states. */
  keysOf(tenantId: ObjectId, via: Runner = direct): Promise<KeyClaim[]> {
    return this.ofTenant(tenantId, via);
  }

  /** Claims the first free key derived from `slug` for the lease's tenant. */
  async claim(lease: Lease, slug: string, locate: (key: string) => TenantStorage, now: Date): Promise<string> {
    let key = '';
    for (key of keyCandidates(slug)) {
      const claim: KeyClaim = {
        _id: key,
        tenantId: lease.tenantId,
        state: 'active',
        storage: locate(key),
        updatedAt: now,
      };
      if (await this.tryInsert(lease, claim)) break;
    }
    return key;
  }

  withStates(states: readonly KeyState[], before: Date): Promise<KeyClaim[]> {
    const filter = { state: { $in: [...states] }, updatedAt: { $lt: before } };
    return direct.run('find keys', () => this.claims.find(filter).toArray() as Promise<KeyClaim[]>);
  }

  async setState(lease: Lease, key: string, state: KeyState, now: Date): Promise<void> {
    await lease.run('update key', (o) =>
      this.claims.updateOne(
        { _id: key, tenantId: lease.tenantId, ...lease.fence },
        { $set: { state, updatedAt: now, epoch: lease.epoch } },
        o,
      ),
    );
  }
}
