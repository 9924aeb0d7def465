/**
 * Failed-login counters, in the master database so they survive restarts and
 * are shared by every process. One counter per normalized email (registered
 * or not, so a lock tells nothing about which emails exist) and one per
 * client key. A counter's window opens at its first failure; `maxFailures`
 * failures inside the window lock the key until the window closes. Never a
 * permanent lock. Every change is an atomic `$inc` or a conditional write.
 */
import type { Collection, Db } from 'mongodb';
import { execute, executeExpecting, ServerCode } from '../internal/execute.js';

export const THROTTLE_COLLECTION = 'auth_throttle';

interface Counter {
  _id: string;
  count: number;
  since: Date;
  /** When the window closes; a TTL index removes the counter after that. */
  expiresAt: Date;
}

export interface ThrottleSettings {
  maxFailures: number;
  windowMs: number;
}

const TAKEN = Symbol('taken');

export class LoginThrottle {
  readonly #counters: Collection<Counter>;
  readonly #settings: ThrottleSettings;

  constructor(master: Db, settings: ThrottleSettings) {
    this.#counters = master.collection<Counter>(THROTTLE_COLLECTION);
    this.#settings = settings;
  }

  /**
   * A TTL index removes counters whose window closed. Servers without TTL
   * indexes (FerretDB v1) keep them; correctness never depends on it, since
   * every read compares the window with the clock.
   */
  async ensureIndexes(): Promise<void> {
    await executeExpecting('create throttle indexes', ServerCode.NotImplemented, null, () =>
      this.#counters.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 }),
    );
  }

  /** Seconds until every key may try again; 0 when none is locked. */
  async retryAfter(keys: readonly string[], now: Date): Promise<number> {
    let wait = 0;
    for (const key of keys) {
      const counter = await execute('read throttle', () => this.#counters.findOne({ _id: key }));
      if (!counter || counter.count < this.#settings.maxFailures) continue;
      const closes = counter.since.getTime() + this.#settings.windowMs;
      if (closes > now.getTime()) wait = Math.max(wait, Math.ceil((closes - now.getTime()) / 1000));
    }
    return wait;
  }

  /** Counts one failure against each key. */
  async fail(keys: readonly string[], now: Date): Promise<void> {
    for (const key of keys) await this.#count(key, now);
  }

  async reset(key: string): Promise<void> {
    await execute('reset throttle', () => this.#counters.deleteOne({ _id: key }));
  }

  /** The current count for a key (0 when its window closed). */
  async count(key: string, now: Date): Promise<number> {
    const counter = await execute('read throttle', () => this.#counters.findOne({ _id: key }));
    return counter && counter.since.getTime() + this.#settings.windowMs > now.getTime() ? counter.count : 0;
  }

  async #count(key: string, now: Date): Promise<void> {
    const windowOpenedAfter = new Date(now.getTime() - this.#settings.windowMs);
    const expiresAt = new Date(now.getTime() + this.#settings.windowMs);
    for (let attempt = 0; attempt < 10; attempt++) {
      const inWindow = await execute('count failure', () =>
        this.#counters.updateOne({ _id: key, since: { $gt: windowOpenedAfter } }, { $inc: { count: 1 } }),
      );
      if (inWindow.matchedCount === 1) return;
      const reopened = await execute('count failure', () =>
        this.#counters.updateOne(
          { _id: key, since: { $lte: windowOpenedAfter } },
          { $set: { count: 1, since: now, expiresAt } },
        ),
      );
      if (reopened.matchedCount === 1) return;
      const inserted = await executeExpecting('count failure', ServerCode.DuplicateKey, TAKEN, () =>
        this.#counters.insertOne({ _id: key, count: 1, since: now, expiresAt }),
      );
      if (inserted !== TAKEN) return;
    }
  }
}
