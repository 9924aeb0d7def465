/**
 * Failed-login counting, in the master database so it survives restarts and
 * is shared by every process. Each failure is one inserted document
 * (`auth_failures`) for its normalized email (registered or not, so a lock
 * tells nothing about which emails exist) and one for its client key. A key
 * with `maxFailures` failures in the last `windowMs` is locked until the
 * oldest of them leaves the window: a sliding window, never a permanent lock.
 *
 * Inserts, not `$inc`: an insert is atomic on every server, while FerretDB v1
 * loses concurrent `$inc` updates (docs/compatibility.md). 50 concurrent
 * failures count exactly 50.
 */
import { type Collection, type Db, ObjectId } from 'mongodb';
import { execute, executeExpecting, ServerCode } from '../internal/execute.js';

export const FAILURES_COLLECTION = 'auth_failures';

interface Failure {
  _id: ObjectId;
  key: string;
  at: Date;
  /** When this failure leaves the window; a TTL index removes it after that. */
  expiresAt: Date;
}

export interface ThrottleSettings {
  maxFailures: number;
  windowMs: number;
}

export class LoginThrottle {
  readonly #failures: Collection<Failure>;
  readonly #settings: ThrottleSettings;

  constructor(master: Db, settings: ThrottleSettings) {
    this.#failures = master.collection<Failure>(FAILURES_COLLECTION);
    this.#settings = settings;
  }

  /**
   * A TTL index removes failures that left the window. Servers without TTL
   * indexes (FerretDB v1) keep them until {@link LoginThrottle.reset};
   * correctness never depends on it, since every read compares with the clock.
   */
  async ensureIndexes(): Promise<void> {
    await execute('create throttle indexes', () =>
      this.#failures.createIndexes([{ key: { key: 1, at: -1 }, name: 'key_at' }]),
    );
    await executeExpecting('create throttle indexes', ServerCode.NotImplemented, null, () =>
      this.#failures.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 }),
    );
  }

  /** Seconds until every key may try again; 0 when none is locked. */
  async retryAfter(keys: readonly string[], now: Date): Promise<number> {
    let wait = 0;
    for (const key of keys) {
      const opened = new Date(now.getTime() - this.#settings.windowMs);
      // The maxFailures-th most recent failure in the window: the lock lasts until it leaves.
      const [pivot] = await execute('read failures', () =>
        this.#failures
          .find({ key, at: { $gt: opened } })
          .sort({ at: -1 })
          .skip(this.#settings.maxFailures - 1)
          .limit(1)
          .toArray(),
      );
      if (pivot)
        wait = Math.max(wait, Math.ceil((pivot.at.getTime() + this.#settings.windowMs - now.getTime()) / 1000));
    }
    return wait;
  }

  /** Records one failure for each key. */
  async fail(keys: readonly string[], now: Date): Promise<void> {
    const expiresAt = new Date(now.getTime() + this.#settings.windowMs);
    await execute('record failure', () =>
      this.#failures.insertMany(keys.map((key) => ({ _id: new ObjectId(), key, at: now, expiresAt }))),
    );
  }

  /** Forgets a key's failures (after a successful login). */
  async reset(key: string): Promise<void> {
    await execute('reset failures', () => this.#failures.deleteMany({ key }));
  }

  /** Failures of a key inside the window now. */
  count(key: string, now: Date): Promise<number> {
    const opened = new Date(now.getTime() - this.#settings.windowMs);
    return execute('count failures', () => this.#failures.countDocuments({ key, at: { $gt: opened } }));
  }
}
