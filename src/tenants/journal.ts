/**
 * Journaled multi-step operations. One entry per tenant (`_id` is the
 * tenant's id), so the entry is also the tenant's lease: a second operation
 * on the same tenant fails to insert its entry and gets `CONFLICT` while the
 * lease is live. Each step renews the lease; an entry whose lease expired
 * belongs to a holder that died, and `recover()` finishes or undoes it.
 */
import { randomUUID } from 'node:crypto';
import type { Collection, Db, ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { execute, executeExpecting, ServerCode } from '../internal/execute.js';

export const JOURNAL_COLLECTION = 'tenancy_journal';
/** Short-lived claims that make taking over a dead holder's entry a race one process wins. */
export const TAKEOVERS_COLLECTION = 'tenancy_takeovers';
export type OperationKind = 'create' | 'rename' | 'drop' | 'purge' | 'status';

export interface JournalEntry {
  _id: ObjectId;
  op: OperationKind;
  opId: string;
  step: string;
  data: Record<string, unknown>;
  startedAt: Date;
  expiresAt: Date;
}

/** A held lease: the entry as this holder last wrote it. */
export type Lease = Readonly<JournalEntry>;

const HELD = Symbol('held');

export class Journal {
  readonly #entries: Collection<JournalEntry>;
  readonly #takeovers: Collection<{ _id: string; at: Date }>;
  readonly #leaseMs: number;

  constructor(master: Db, leaseMs: number) {
    this.#entries = master.collection<JournalEntry>(JOURNAL_COLLECTION);
    this.#takeovers = master.collection<{ _id: string; at: Date }>(TAKEOVERS_COLLECTION);
    this.#leaseMs = leaseMs;
  }

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
  async begin(
    tenantId: ObjectId,
    op: OperationKind,
    data: Record<string, unknown>,
    now: Date,
  ): Promise<Lease | 'expired'> {
    const entry: JournalEntry = {
      _id: tenantId,
      op,
      opId: randomUUID(),
      step: 'begun',
      data,
      startedAt: now,
      expiresAt: this.#expiry(now),
    };
    const result = await executeExpecting('begin operation', ServerCode.DuplicateKey, HELD, () =>
      this.#entries.insertOne(entry),
    );
    if (result !== HELD) return entry;
    const holder = await execute('read operation', () => this.#entries.findOne({ _id: tenantId }));
    if (holder && holder.expiresAt > now) {
      throw new TenancyError('CONFLICT', `Another ${holder.op} of this organization is in progress`);
    }
    return 'expired';
  }

  /**
   * Journals a step and renews the lease.
   *
   * @throws {@link TenancyError} `CONFLICT` when the lease was lost (it expired and another process took over).
   */
  async step(lease: Lease, step: string, data: Record<string, unknown>, now: Date): Promise<Lease> {
    const next = { ...lease, step, data: { ...lease.data, ...data }, expiresAt: this.#expiry(now) };
    const result = await execute('journal step', () =>
      this.#entries.updateOne(
        { _id: lease._id, opId: lease.opId },
        { $set: { step, data: next.data, expiresAt: next.expiresAt } },
      ),
    );
    if (result.matchedCount === 0) {
      throw new TenancyError('CONFLICT', 'The operation lost its lease to another process');
    }
    return next;
  }

  /**
   * Checks that this holder may still act: less than half the lease has
   * passed since it last renewed. A holder that stalled longer (a long pause,
   * a blocked event loop) stops before its next write, since another process
   * may be recovering its operation by now.
   *
   * @throws {@link TenancyError} `CONFLICT` when the lease may be lost.
   */
  assertHeld(lease: Lease, now: Date): void {
    if (now.getTime() >= lease.expiresAt.getTime() - this.#leaseMs / 2) {
      throw new TenancyError('CONFLICT', 'The operation stalled for too long and may have lost its lease');
    }
  }

  async end(lease: Lease): Promise<void> {
    await execute('end operation', () => this.#entries.deleteOne({ _id: lease._id, opId: lease.opId }));
  }

  /** The entry as stored now, if this lease still holds it. */
  reload(lease: Lease): Promise<JournalEntry | null> {
    return execute('read operation', () => this.#entries.findOne({ _id: lease._id, opId: lease.opId }));
  }

  /** Entries whose lease expired by `now` (their holders died or stalled), of one tenant or all. */
  expired(now: Date, tenantId?: ObjectId): Promise<JournalEntry[]> {
    const filter = tenantId ? { _id: tenantId, expiresAt: { $lte: now } } : { expiresAt: { $lte: now } };
    return execute('find expired operations', () => this.#entries.find(filter).toArray());
  }

  /**
   * Takes over a dead holder's entry; `null` when someone else did first.
   * The race between recovering processes is decided by an insert (atomic on
   * every server), not by a conditional update, which FerretDB v1 does not
   * make atomic.
   */
  async takeOver(entry: JournalEntry, now: Date): Promise<Lease | null> {
    const claim = `${entry._id.toHexString()}:${entry.opId}`;
    const won = await executeExpecting('claim takeover', ServerCode.DuplicateKey, false, () =>
      this.#takeovers.insertOne({ _id: claim, at: now }).then(() => true),
    );
    if (!won) return null;
    try {
      const opId = randomUUID();
      const expiresAt = this.#expiry(now);
      const result = await execute('take over operation', () =>
        this.#entries.updateOne(
          { _id: entry._id, opId: entry.opId, expiresAt: { $lte: now } },
          { $set: { opId, expiresAt } },
        ),
      );
      return result.matchedCount === 1 ? { ...entry, opId, expiresAt } : null;
    } finally {
      // Once the entry carries the new opId, a later claim for the old one matches nothing.
      await execute('release takeover', () => this.#takeovers.deleteOne({ _id: claim }));
    }
  }

  #expiry(now: Date): Date {
    return new Date(now.getTime() + this.#leaseMs);
  }
}
