/**
 * Storage-key claims. A key is held from the moment a tenant's storage may
 * exist until its last collection is gone, so two tenants can never share a
 * physical name. `_id` is the key, so uniqueness is the server's `_id` index.
 *
 * States: `active` (the tenant's current key), `retired` (an old key of a
 * tenant renamed with `renameStorage`, its collections tombstoned) and
 * `dropped` (the tombstones of a dropped tenant).
 */
import type { Collection, Db, ObjectId } from 'mongodb';
import { execute, executeExpecting, ServerCode } from '../internal/execute.js';
import { keyCandidates } from './names.js';
import type { TenantStorage } from './types.js';

export const KEYS_COLLECTION = 'organization_keys';
export type KeyState = 'active' | 'retired' | 'dropped';

export interface KeyClaim {
  _id: string;
  tenantId: ObjectId;
  state: KeyState;
  /** The storage built on this key, so tombstones can be found after the tenant is gone. */
  storage: TenantStorage;
  updatedAt: Date;
}

const TAKEN = Symbol('taken');

export class KeyClaims {
  readonly #claims: Collection<KeyClaim>;

  constructor(master: Db) {
    this.#claims = master.collection<KeyClaim>(KEYS_COLLECTION);
  }

  ensureIndexes(): Promise<unknown> {
    return execute('create key indexes', () =>
      this.#claims.createIndexes([
        { key: { tenantId: 1 }, name: 'tenantId' },
        { key: { state: 1, updatedAt: 1 }, name: 'state_updatedAt' },
      ]),
    );
  }

  /** Claims the first free key derived from `slug` for `tenantId`. */
  async claim(slug: string, tenantId: ObjectId, locate: (key: string) => TenantStorage, now: Date): Promise<string> {
    for (const key of keyCandidates(slug)) {
      const claim: KeyClaim = { _id: key, tenantId, state: 'active', storage: locate(key), updatedAt: now };
      const result = await executeExpecting('claim key', ServerCode.DuplicateKey, TAKEN, () =>
        this.#claims.insertOne(claim),
      );
      if (result !== TAKEN) return key;
    }
    throw new Error('unreachable');
  }

  ofTenant(tenantId: ObjectId): Promise<KeyClaim[]> {
    return execute('find keys', () => this.#claims.find({ tenantId }).toArray());
  }

  withStates(states: readonly KeyState[], before?: Date): Promise<KeyClaim[]> {
    const filter = before
      ? { state: { $in: [...states] }, updatedAt: { $lt: before } }
      : { state: { $in: [...states] } };
    return execute('find keys', () => this.#claims.find(filter).toArray());
  }

  async setState(key: string, tenantId: ObjectId, state: KeyState, now: Date): Promise<void> {
    await execute('update key', () =>
      this.#claims.updateOne({ _id: key, tenantId }, { $set: { state, updatedAt: now } }),
    );
  }

  async release(key: string, tenantId: ObjectId): Promise<void> {
    await execute('release key', () => this.#claims.deleteOne({ _id: key, tenantId }));
  }
}
