/**
 * A lease on one tenant: the right to run one journaled operation on it.
 *
 * The lease is the tenant's journal entry (`_id` = tenant id, `opId` = this
 * holder). It carries an **epoch**, taken from a per-tenant counter after the
 * lease is won, so every later holder of the tenant has a larger one. Every
 * write made under the lease goes through {@link Lease.run}, which
 *
 * - refuses to send anything once half the lease has passed without renewal
 *   (the holder may have stalled, and another process may be recovering);
 * - bounds the call: `maxTimeMS` for the server and a client-side deadline of
 *   a quarter lease, so the holder's last command has expired a quarter lease
 *   before anyone may take the lease over;
 * - reports the call to the `afterCall` hook.
 *
 * Fenced writes carry the epoch: updates and deletes of registry records and
 * claims match only documents whose epoch is not larger than the lease's
 * ({@link Lease.fence}), and set it. A holder whose lease was taken over
 * therefore matches nothing and learns it lost the lease (`CONFLICT`) instead
 * of writing over the recovery.
 */
import { randomUUID } from 'node:crypto';
import type { Collection, ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import { type Call, execute, type Runner } from '../internal/execute.js';

export type OperationKind = 'create' | 'rename' | 'drop' | 'purge' | 'status' | 'repair';

export interface JournalEntry {
  _id: ObjectId;
  op: OperationKind;
  opId: string;
  step: string;
  data: Record<string, unknown>;
  startedAt: Date;
  expiresAt: Date;
}

/** A journaled step, as reported to the `afterStep` hook. */
export interface StepEvent {
  readonly op: OperationKind;
  readonly step: string;
  readonly tenantId: string;
}

/** A database call made under a lease (or while taking one over), as reported to the `afterCall` hook. */
export interface CallEvent extends StepEvent {
  /** What the call did, such as `update tenant` or `rename tenant collection`. */
  readonly call: string;
}

/** Observability hooks; each may be async, and the operation waits for it. */
export interface Hooks {
  readonly afterStep: (event: StepEvent) => void | Promise<void>;
  readonly afterCall: (event: CallEvent) => void | Promise<void>;
}

/** What every lease of one journal shares. @internal */
export interface LeaseTerms {
  readonly entries: Collection<JournalEntry>;
  readonly epochs: Collection<{ _id: ObjectId; epoch: number }>;
  readonly leaseMs: number;
  /** The deadline of each call: a quarter lease. */
  readonly callTimeoutMs: number;
  readonly clock: Clock;
  readonly hooks: Hooks;
}

/** The filter that lets only a holder whose epoch is at least the document's write it. */
export function fencedBy(epoch: number): { epoch: { $not: { $gt: number } } } {
  return { epoch: { $not: { $gt: epoch } } };
}

export function leaseLost(cause?: unknown): TenancyError<'CONFLICT'> {
  return new TenancyError(
    'CONFLICT',
    'The operation lost its lease to another process',
    cause === undefined ? undefined : { cause },
  );
}

export class Lease implements Runner {
  readonly #terms: LeaseTerms;
  #entry: JournalEntry;
  #epoch = 0;
  #ended = false;

  constructor(terms: LeaseTerms, entry: JournalEntry) {
    this.#terms = terms;
    this.#entry = entry;
  }

  get tenantId(): ObjectId {
    return this.#entry._id;
  }
  get op(): OperationKind {
    return this.#entry.op;
  }
  get opId(): string {
    return this.#entry.opId;
  }
  get step(): string {
    return this.#entry.step;
  }
  get data(): Readonly<Record<string, unknown>> {
    return this.#entry.data;
  }
  /** This holder's epoch: larger than every earlier holder's of the tenant. */
  get epoch(): number {
    return this.#epoch;
  }
  /** The filter fragment of a fenced write (see {@link fencedBy}). */
  get fence(): { epoch: { $not: { $gt: number } } } {
    return fencedBy(this.#epoch);
  }

  /**
   * Checks that this holder may still act: less than half the lease has
   * passed since it last renewed.
   *
   * @throws {@link TenancyError} `CONFLICT` when the lease may be lost.
   */
  check(): void {
    const now = this.#terms.clock().getTime();
    if (now >= this.#entry.expiresAt.getTime() - this.#terms.leaseMs / 2) {
      throw new TenancyError('CONFLICT', 'The operation stalled for too long and may have lost its lease');
    }
  }

  /**
   * Runs one database call under the lease: checked, bounded, reported. A
   * lease a third of whose time passed since it was renewed is renewed
   * first, so a step of many calls (a tenant with many collections) keeps
   * its lease for as long as it makes progress.
   */
  async run<T>(operation: string, call: Call<T>): Promise<T> {
    this.check();
    if (this.#terms.clock().getTime() >= this.#entry.expiresAt.getTime() - (2 * this.#terms.leaseMs) / 3) {
      await this.#extend();
    }
    const result = await execute(operation, call, this.#terms.callTimeoutMs);
    await this.#terms.hooks.afterCall({ ...this.#event(), call: operation });
    return result;
  }

  /**
   * Journals a step with what it learned, renewing the lease, and reports it.
   *
   * @throws {@link TenancyError} `CONFLICT` when the lease was lost.
   */
  async advance(step: string, data: Record<string, unknown> = {}): Promise<void> {
    const next = { ...this.#entry, step, data: { ...this.#entry.data, ...data }, expiresAt: this.#expiry() };
    const result = await this.run('journal step', (o) =>
      this.#terms.entries.updateOne(
        { _id: next._id, opId: next.opId },
        { $set: { step, data: next.data, expiresAt: next.expiresAt } },
        o,
      ),
    );
    if (result.matchedCount === 0) throw leaseLost();
    this.#entry = next;
    await this.#terms.hooks.afterStep(this.#event());
    this.check();
  }

  /** Reports the step the lease is at (its first, once taken) to `afterStep`, then checks it still holds. */
  async announce(): Promise<void> {
    await this.#terms.hooks.afterStep(this.#event());
    this.check();
  }

  /** Ends the operation: the tenant is free for the next one. */
  async end(): Promise<void> {
    await this.run('end operation', (o) =>
      this.#terms.entries.deleteOne({ _id: this.#entry._id, opId: this.#entry.opId }, o),
    );
    this.#ended = true;
  }

  /** Whether the operation ended (what it throws after that is its answer, not a failure to settle). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Takes the next epoch of the tenant's counter. */
  async takeEpoch(): Promise<void> {
    const counter = await this.run('take epoch', (o) =>
      this.#terms.epochs.findOneAndUpdate(
        { _id: this.#entry._id },
        { $inc: { epoch: 1 } },
        { ...o, upsert: true, returnDocument: 'after' },
      ),
    );
    this.#epoch = counter?.epoch ?? 0;
  }

  /**
   * Takes an epoch above `seen`, an epoch found on the tenant's record: a
   * counter behind its records (restored from an older backup, say) would
   * otherwise fence every lease out of its own tenant. Only while this lease
   * still holds the tenant, so no newer holder can have written `seen`.
   *
   * @throws {@link TenancyError} `CONFLICT` when the lease was lost.
   */
  async catchUp(seen: number): Promise<void> {
    await this.#extend();
    await this.run('raise epoch', (o) =>
      this.#terms.epochs.updateOne({ _id: this.#entry._id }, { $max: { epoch: seen } }, { ...o, upsert: true }),
    );
    await this.takeEpoch();
  }

  /**
   * Becomes a new holder of the same operation: a new op id and a new epoch.
   * Run before settling after a failure, so a call of this holder that timed
   * out and lands later is refused like any stale holder's.
   *
   * @throws {@link TenancyError} `CONFLICT` when the lease was lost meanwhile.
   */
  async renew(): Promise<void> {
    const next = { ...this.#entry, opId: randomUUID(), expiresAt: this.#expiry() };
    const result = await execute(
      'renew operation',
      (o) =>
        this.#terms.entries.updateOne(
          { _id: next._id, opId: this.#entry.opId },
          { $set: { opId: next.opId, expiresAt: next.expiresAt } },
          o,
        ),
      this.#terms.callTimeoutMs,
    );
    if (result.matchedCount === 0) throw leaseLost();
    this.#entry = next;
    await this.takeEpoch();
  }

  /** Renews the lease without a new step. */
  async #extend(): Promise<void> {
    const expiresAt = this.#expiry();
    const result = await execute(
      'renew lease',
      (o) =>
        this.#terms.entries.updateOne({ _id: this.#entry._id, opId: this.#entry.opId }, { $set: { expiresAt } }, o),
      this.#terms.callTimeoutMs,
    );
    if (result.matchedCount === 0) throw leaseLost();
    this.#entry = { ...this.#entry, expiresAt };
  }

  #event(): StepEvent {
    return { op: this.#entry.op, step: this.#entry.step, tenantId: this.#entry._id.toHexString() };
  }

  #expiry(): Date {
    return new Date(this.#terms.clock().getTime() + this.#terms.leaseMs);
  }
}
