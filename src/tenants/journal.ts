/**
 * Journaled multi-step operations. One entry per tenant (`_id` is the
 * tenant's id), so the entry is also the tenant's lease (see lease.ts): a
 * second operation on the same tenant fails to insert its entry and gets
 * `CONFLICT` while the lease is live. Each step renews the lease; an entry
 * whose lease expired belongs to a holder that died or stalled, and
 * `recover()` takes it over and finishes or undoes it.
 */
import { randomUUID } from 'node:crypto';
import type { Collection, Db, ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import { type Call, execute, executeExpecting, type Runner, ServerCode } from '../internal/execute.js';
import { type Hooks, type JournalEntry, Lease, type LeaseTerms, type OperationKind } from './lease.js';

export const JOURNAL_COLLECTION = 'tenancy_journal';
/** Claims that make taking over a dead holder's entry a race one process wins. */
export const TAKEOVERS_COLLECTION = 'tenancy_takeovers';
/** Per-tenant epoch counters: each lease takes the next epoch of its tenant. */
export const EPOCHS_COLLECTION = 'tenancy_epochs';
/** A takeover claim is followed past a dead claimant at most this many times. */
const MAX_HOPS = 32;

/**
 * A takeover claim: `_id` is `<tenant id>:<op id taken over>`, `by` the op id
 * of the claimant. A claim older than a lease whose claimant did not finish
 * the takeover belongs to a claimant that died: the next recoverer takes over
 * from that claimant instead (a claim on `<tenant id>:<by>`), so no claim can
 * wedge a tenant.
 */
export interface TakeoverClaim {
  _id: string;
  by: string;
  at: Date;
}

export class Journal {
  readonly #entries: Collection<JournalEntry>;
  readonly #takeovers: Collection<TakeoverClaim>;
  readonly #terms: LeaseTerms;

  constructor(master: Db, leaseMs: number, clock: Clock, hooks: Hooks) {
    this.#entries = master.collection<JournalEntry>(JOURNAL_COLLECTION);
    this.#takeovers = master.collection<TakeoverClaim>(TAKEOVERS_COLLECTION);
    const epochs = master.collection<{ _id: ObjectId; epoch: number }>(EPOCHS_COLLECTION);
    this.#terms = { entries: this.#entries, epochs, leaseMs, callTimeoutMs: Math.floor(leaseMs / 4), clock, hooks };
  }

  /** Runs calls outside any lease with a lease's deadline (for `doctor`'s repairs of what no tenant holds). */
  readonly bounded: Runner = {
    run: (operation, call) => execute(operation, call, this.#terms.callTimeoutMs),
  };

  ensureIndexes(): Promise<unknown> {
    return execute('create journal indexes', () =>
      this.#entries.createIndexes([{ key: { expiresAt: 1 }, name: 'expiresAt' }]),
    );
  }

  /**
   * Takes the tenant's lease and journals the operation's first step.
   * Returns `'expired'` when a dead holder's entry is in the way (recover it,
   * then try again).
   *
   * @throws {@link TenancyError} `CONFLICT` while another live operation holds the tenant.
   */
  async begin(tenantId: ObjectId, op: OperationKind, data: Record<string, unknown>): Promise<Lease | 'expired'> {
    const now = this.#terms.clock();
    const entry: JournalEntry = {
      _id: tenantId,
      op,
      opId: randomUUID(),
      step: 'begun',
      data,
      startedAt: now,
      expiresAt: this.#expiry(now),
    };
    const lease = new Lease(this.#terms, entry);
    const taken = await executeExpecting(
      'begin operation',
      ServerCode.DuplicateKey,
      false,
      (o) => this.#entries.insertOne(entry, o).then(() => true),
      this.bounded,
    );
    if (taken) return lease; // its epoch is taken first thing under the lease (see underLease)
    const holder = await this.bounded.run('read operation', (o) => this.#entries.findOne({ _id: tenantId }, o));
    if (holder && holder.expiresAt > now) {
      throw new TenancyError('CONFLICT', `Another ${holder.op} of this organization is in progress`);
    }
    return 'expired';
  }

  /** Entries whose lease expired by now (their holders died or stalled), of one tenant or all. */
  expired(tenantId?: ObjectId): Promise<JournalEntry[]> {
    const now = this.#terms.clock();
    const filter = tenantId ? { _id: tenantId, expiresAt: { $lte: now } } : { expiresAt: { $lte: now } };
    return execute('find expired operations', () => this.#entries.find(filter).toArray());
  }

  /** Every entry, live or not (for `doctor`). */
  all(): Promise<JournalEntry[]> {
    return execute('list operations', () => this.#entries.find({}).toArray());
  }

  /** Takeover claims older than a lease (for `doctor`). */
  staleClaims(): Promise<TakeoverClaim[]> {
    const before = new Date(this.#terms.clock().getTime() - this.#terms.leaseMs);
    return execute('find stale takeovers', () => this.#takeovers.find({ at: { $lt: before } }).toArray());
  }

  async removeClaim(claim: TakeoverClaim): Promise<void> {
    await execute('release takeover', () => this.#takeovers.deleteOne({ _id: claim._id, by: claim.by }));
  }

  /**
   * Takes over a dead holder's entry: a new op id, a renewed lease and a new
   * epoch; `null` when another live process is taking it over. The race
   * between recovering processes is decided by inserts (atomic on every
   * server), not by a conditional update, which FerretDB v1 does not make
   * atomic.
   */
  async takeOver(entry: JournalEntry): Promise<Lease | null> {
    const opId = randomUUID();
    const mine = await this.#claim(entry, opId);
    if (!mine) return null;
    const now = this.#terms.clock();
    const expiresAt = this.#expiry(now);
    const result = await this.#call(entry, 'take over operation', (o) =>
      this.#entries.updateOne(
        { _id: entry._id, opId: entry.opId, expiresAt: { $lte: now } },
        { $set: { opId, expiresAt } },
        o,
      ),
    );
    if (result.matchedCount === 0) {
      await this.#release(entry, mine);
      return null;
    }
    const lease = new Lease(this.#terms, { ...entry, opId, expiresAt });
    await lease.takeEpoch();
    // The entry carries none of the op ids the tenant's claims name any more (not even those of
    // recoverers that died after taking it over), so no later takeover can need them.
    const prefix = `^${entry._id.toHexString()}:`;
    await this.#call(entry, 'release takeovers', (o) => this.#takeovers.deleteMany({ _id: { $regex: prefix } }, o));
    return lease;
  }

  /**
   * Inserts the claim that lets this process take `entry` over, following
   * claims whose claimants died; returns the claims this process now holds
   * (the one it won, and the dead ones it stepped over), or `null`.
   */
  async #claim(entry: JournalEntry, opId: string): Promise<TakeoverClaim[] | null> {
    const now = this.#terms.clock();
    const held: TakeoverClaim[] = [];
    let from = entry.opId;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const claim = { _id: `${entry._id.toHexString()}:${from}`, by: opId, at: now };
      const won = await executeExpecting(
        'claim takeover',
        ServerCode.DuplicateKey,
        false,
        (o) => this.#takeovers.insertOne(claim, o).then(() => true),
        this.#runner(entry),
      );
      if (won) return [...held, claim];
      const existing = await this.#call(entry, 'read takeover', (o) => this.#takeovers.findOne({ _id: claim._id }, o));
      if (!existing) continue; // released a moment ago: try again
      if (existing.at.getTime() > now.getTime() - this.#terms.leaseMs) return null; // a live process has it
      held.push(existing);
      from = existing.by; // its claimant died before finishing: take over from that claimant
    }
    return null;
  }

  async #release(entry: JournalEntry, claims: TakeoverClaim[]): Promise<void> {
    for (const claim of claims) {
      await this.#call(entry, 'release takeover', (o) =>
        this.#takeovers.deleteOne({ _id: claim._id, by: claim.by }, o),
      );
    }
  }

  /** A takeover's calls: bounded like a lease's, and reported to `afterCall` with step `takeover`. */
  #runner(entry: JournalEntry): Runner {
    return { run: <T>(operation: string, call: Call<T>) => this.#call(entry, operation, call) };
  }

  async #call<T>(entry: JournalEntry, operation: string, call: Call<T>): Promise<T> {
    const result = await this.bounded.run(operation, call);
    await this.#terms.hooks.afterCall({
      op: entry.op,
      step: 'takeover',
      tenantId: entry._id.toHexString(),
      call: operation,
    });
    return result;
  }

  #expiry(now: Date): Date {
    return new Date(now.getTime() + this.#terms.leaseMs);
  }
}
