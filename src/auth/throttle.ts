/**
 * Login attempts and failures, in the master database so they survive
 * restarts and are shared by every process. Every attempt inserts one
 * document per key (the normalized email, registered or not, so a lock tells
 * nothing about which emails exist; and the client key) *before* the password
 * is checked, then counts the key's documents in the window. So concurrent
 * guesses see each other: a burst of 1,000 attempts gets at most
 * `maxFailures` password checks, not 1,000. A success deletes its own
 * documents; a failure keeps them; a refused attempt deletes its own, so
 * hammering a locked key does not extend the lock.
 *
 * Inserts, never `$inc`: an insert is atomic on every server, while FerretDB
 * v1 loses concurrent updates (docs/compatibility.md).
 *
 * Registrations use the same machinery with settings of their own and keys
 * of their own (`signup:<client key>`): an answer that reveals a registered
 * email is kept as a failure, every other attempt is withdrawn.
 */
import { type Collection, type Db, ObjectId } from 'mongodb';
import { execute, executeExpecting, ServerCode } from '../internal/execute.js';

export const FAILURES_COLLECTION = 'auth_failures';

interface Attempt {
  _id: ObjectId;
  key: string;
  at: Date;
  /** When this attempt leaves the window; a TTL index removes it after that. */
  expiresAt: Date;
}

export interface ThrottleSettings {
  maxFailures: number;
  windowMs: number;
}

/** An attempt in progress: its documents, and how long the caller must wait if it is refused. */
export interface AttemptTicket {
  readonly ids: ObjectId[];
  /** Seconds until the keys may try again; 0 when the attempt may go on. */
  readonly retryAfter: number;
}

export class LoginThrottle {
  readonly #attempts: Collection<Attempt>;
  readonly #settings: ThrottleSettings;

  constructor(master: Db, settings: ThrottleSettings) {
    this.#attempts = master.collection<Attempt>(FAILURES_COLLECTION);
    this.#settings = settings;
  }

  /**
   * A TTL index removes attempts that left the window. Servers without TTL
   * indexes (FerretDB v1) keep them until a later failure of the same key
   * prunes them; correctness never depends on it, since every read compares
   * with the clock.
   */
  async ensureIndexes(): Promise<void> {
    await execute('create throttle indexes', () =>
      this.#attempts.createIndexes([{ key: { key: 1, at: -1 }, name: 'key_at' }]),
    );
    await executeExpecting('create throttle indexes', ServerCode.NotImplemented, null, () =>
      this.#attempts.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 }),
    );
  }

  /** Records an attempt for each key and says whether it may go on. A refused attempt is withdrawn. */
  async begin(keys: readonly string[], now: Date): Promise<AttemptTicket> {
    const expiresAt = new Date(now.getTime() + this.#settings.windowMs);
    const docs = keys.map((key) => ({ _id: new ObjectId(), key, at: now, expiresAt }));
    await execute('record attempt', () => this.#attempts.insertMany(docs));
    const ticket = { ids: docs.map((d) => d._id), retryAfter: 0 };
    let retryAfter = 0;
    for (const key of keys) retryAfter = Math.max(retryAfter, await this.#wait(key, now));
    if (retryAfter === 0) return ticket;
    await this.#withdraw(ticket.ids);
    return { ids: [], retryAfter };
  }

  /** The attempt failed: its documents stay, and expired ones of the same keys go. */
  async fail(keys: readonly string[], now: Date): Promise<void> {
    const opened = new Date(now.getTime() - this.#settings.windowMs);
    await execute('prune attempts', () => this.#attempts.deleteMany({ key: { $in: [...keys] }, at: { $lte: opened } }));
  }

  /** The attempt does not count (it succeeded, or its outcome was not a failure): its documents go. */
  async withdraw(ticket: AttemptTicket): Promise<void> {
    await this.#withdraw(ticket.ids);
  }

  /** The attempt succeeded: its documents go, and so do the email's earlier failures. */
  async succeed(ticket: AttemptTicket, emailKey: string): Promise<void> {
    await this.#withdraw(ticket.ids);
    await execute('reset attempts', () => this.#attempts.deleteMany({ key: emailKey }));
  }

  /**
   * Seconds until `key` is below the limit again: 0 when this attempt is
   * among the first `maxFailures` in the window, else until the attempt that
   * many places before the newest leaves the window.
   */
  async #wait(key: string, now: Date): Promise<number> {
    const opened = new Date(now.getTime() - this.#settings.windowMs);
    const [pivot] = await execute('read attempts', () =>
      this.#attempts
        .find({ key, at: { $gt: opened } })
        .sort({ at: -1 })
        .skip(this.#settings.maxFailures)
        .limit(1)
        .toArray(),
    );
    if (!pivot) return 0;
    return Math.max(1, Math.ceil((pivot.at.getTime() + this.#settings.windowMs - now.getTime()) / 1000));
  }

  async #withdraw(ids: ObjectId[]): Promise<void> {
    if (ids.length === 0) return;
    await execute('withdraw attempt', () => this.#attempts.deleteMany({ _id: { $in: ids } }));
  }
}
