/**
 * The one cache the library keeps answers in: bounded by count (least
 * recently used out first, from `lru-cache`), each entry living until a time
 * of the library's clock, so tests that move the clock move the cache too.
 * A cached `null` is an answer ("there is none"), kept apart from a miss.
 * An answer read while an entry was removed may predate that change: take a
 * `ticket()` before the read and give it to `set`, which then keeps nothing.
 */
import { LRUCache } from 'lru-cache';

interface Entry<V> {
  readonly value: V | null;
  readonly until: number;
}

/** A bounded cache of answers, each valid until a time of the caller's clock. @internal */
export class BoundedCache<V> {
  readonly #entries: LRUCache<string, Entry<V>>;
  /** Counts removals, so an answer read across one is not kept. */
  #removals = 0;

  constructor(max: number) {
    this.#entries = new LRUCache<string, Entry<V>>({ max });
  }

  /** The answer for `key` while it is live at `now` (`null`: none), or `undefined` on a miss. */
  get(key: string, now: number): V | null | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.value;
    this.#entries.delete(key); // expired: not a change, no ticket is spoiled
    return undefined;
  }

  /** What to give `set` for an answer about to be read. */
  ticket(): number {
    return this.#removals;
  }

  /**
   * Keeps `value` (or `null`, "none") for `key` until `until`; a time not
   * after now keeps nothing, and so does a `ticket` taken before a removal.
   */
  set(key: string, value: V | null, until: number, now: number, ticket = this.#removals): void {
    if (until > now && ticket === this.#removals) this.#entries.set(key, { value, until });
  }

  delete(key: string): void {
    this.#removals++;
    this.#entries.delete(key);
  }

  /** Removes every entry whose answer `matches` (a null answer is never passed to it). */
  deleteWhere(matches: (value: V) => boolean): void {
    this.#removals++;
    for (const [key, entry] of this.#entries.entries()) {
      if (entry.value !== null && matches(entry.value)) this.#entries.delete(key);
    }
  }

  /** Removes every "none" answer (something may exist now that did not). */
  deleteMisses(): void {
    this.#removals++;
    for (const [key, entry] of this.#entries.entries()) if (entry.value === null) this.#entries.delete(key);
  }

  clear(): void {
    this.#removals++;
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
