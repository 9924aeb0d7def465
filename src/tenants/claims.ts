/**
 * Claims on names, made unique by the server's `_id` index: every uniqueness
 * rule of the library is an insert that fails with a duplicate key, never a
 * read-then-write and never an update (some servers, FerretDB v1 among them,
 * do not report a unique-index violation on update as a duplicate key).
 *
 * - Name claims (`organization_names`): one per name key, held by the tenant
 *   that carries the name.
 * - Key claims (`organization_keys`): one per storage key, kept for good
 *   once made, so two tenants never share a physical name and a command that
 *   lands late can only ever reach the tenant it was sent for. States:
 *   `active` (the tenant's current key), `retired` (an old key of a tenant
 *   renamed with `renameStorage`: tombstones), `dropped` (the tombstones of a
 *   dropped tenant) and `purged` (nothing left, and never given out again).
 *
 * Claims are written under the tenant's lease and fenced by its epoch (see
 * lease.ts): a release or a state change from a lease that was taken over
 * matches nothing.
 */
import { type Collection, type Db, ObjectId } from 'mongodb';
import { direct, executeExpecting, type Runner, ServerCode } from '../internal/execute.js';
import { type Lease, leaseLost } from './lease.js';
import { keyCandidates } from './names.js';
import type { TenantStorage } from './types.js';

export const NAMES_COLLECTION = 'organization_names';
export const KEYS_COLLECTION = 'organization_keys';
export type KeyState = 'active' | 'retired' | 'dropped' | 'purged';

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
    return this.insert({ ...claim, epoch: lease.epoch }, lease);
  }

  /** Inserts a claim through `via`; `false` when its `_id` is held already (the one uniqueness rule). */
  protected insert(claim: C, via: Runner): Promise<boolean> {
    const doc = claim as Parameters<Collection<C>['insertOne']>[0];
    return executeExpecting(
      'claim',
      ServerCode.DuplicateKey,
      false,
      (o) => this.claims.insertOne(doc, o).then(() => true),
      via,
    );
  }

  ofTenant(tenantId: ObjectId, via: Runner = direct): Promise<C[]> {
    return via.run('find claims', (o) => this.claims.find({ tenantId } as never, o).toArray() as Promise<C[]>);
  }

  /** Every claim, in `_id` order (for `doctor`). */
  all(): Promise<C[]> {
    return direct.run('list claims', () => this.claims.find({}).sort({ _id: 1 }).toArray() as Promise<C[]>);
  }

  /**
   * Deletes a claim of the lease's tenant.
   *
   * @throws {@link TenancyError} `CONFLICT` when a newer lease wrote the claim (this one was taken over).
   */
  async release(lease: Lease, id: string): Promise<void> {
    const result = await lease.run('release claim', (o) =>
      this.claims.deleteOne({ _id: id, tenantId: lease.tenantId, ...lease.fence } as never, o),
    );
    if (result.deletedCount === 0) await this.assertNotFencedOut(lease, id);
  }

  /**
   * Marks a claim the lease keeps as its own, so an older lease's late release of it matches nothing.
   *
   * @throws {@link TenancyError} `CONFLICT` when a newer lease wrote the claim.
   */
  async keep(lease: Lease, id: string): Promise<void> {
    const result = await lease.run('fence claim', (o) =>
      this.claims.updateOne(
        { _id: id, tenantId: lease.tenantId, ...lease.fence } as never,
        { $set: { epoch: lease.epoch } } as never,
        o,
      ),
    );
    if (result.matchedCount === 0) await this.assertNotFencedOut(lease, id);
  }

  /**
   * A fenced write that matched nothing: fine when the claim is gone or is
   * another tenant's (a retry after a crash), a lost lease when a newer lease
   * of this tenant wrote it.
   */
  protected async assertNotFencedOut(lease: Lease, id: string): Promise<void> {
    const claim = (await lease.run('read claim', (o) => this.claims.findOne({ _id: id } as never, o))) as C | null;
    if (claim?.tenantId.equals(lease.tenantId) && (claim.epoch ?? 0) > lease.epoch) throw leaseLost();
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

  /** The state of a key's claim, or `null` when nobody holds it. */
  async holderState(key: string): Promise<KeyState | null> {
    return (await direct.run('find key', (o) => this.claims.findOne({ _id: key }, o)))?.state ?? null;
  }

  withStates(states: readonly KeyState[], before: Date): Promise<KeyClaim[]> {
    const filter = { state: { $in: [...states] }, updatedAt: { $lt: before } };
    return direct.run('find keys', () => this.claims.find(filter).toArray() as Promise<KeyClaim[]>);
  }

  /**
   * Moves a key of the lease's tenant to `state`.
   *
   * @throws {@link TenancyError} `CONFLICT` when a newer lease wrote the claim.
   */
  async setState(lease: Lease, key: string, state: KeyState, now: Date): Promise<void> {
    const result = await lease.run('update key', (o) =>
      this.claims.updateOne(
        { _id: key, tenantId: lease.tenantId, ...lease.fence },
        { $set: { state, updatedAt: now, epoch: lease.epoch } },
        o,
      ),
    );
    if (result.matchedCount === 0) await this.assertNotFencedOut(lease, key);
  }

  /**
   * Takes a key no tenant holds out of use for good (`purged`), so a
   * collection found under it can be dropped without racing a create that
   * claims it; `false` when the key is held.
   */
  reserve(key: string, storage: TenantStorage, now: Date, via: Runner = direct): Promise<boolean> {
    return this.insert({ _id: key, tenantId: new ObjectId(), state: 'purged', storage, updatedAt: now }, via);
  }
}
