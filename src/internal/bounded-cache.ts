/**
 * The one cache the library keeps answers in: bounded by count (least
 * recently used out first, from `lru-cache`), each entry living until a time
 * of the library's clock, so tests that move the clock move the cache too.
 * A cached `null` is an answer ("there is none"), kept apart from a miss.
 */
import { LRUCache } from 'lru-cache';

interface Entry<V> {
  readonly value: V | null;
  readonly until: number;
}

/** A bounded cache of answers, each valid until a time of the caller's clock. @internal */
export class BoundedCache<V> {
  readonly #entries: LRUCache<string, Entry<V>>;

  constructor(max: number) {
    this.#entries = new LRUCache<string, Entry<V>>({ max });
  }

  /** The answer for `key` while it is live at `now` (`null`: none), or `undefined` on a miss. */
  get(key: string, now: number): V | null | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Keeps `value` (or `null`, "none") for `key` until `until`; a time not after now keeps nothing. */
  set(key: string, value: V | null, until: number, now: number): void {
    if (until > now) this.#entries.set(key, { value, until });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Removes every entry whose answer `matches` (a null answer is never passed to it). */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.#entries.entries()) {
      if (entry.value !== null && matches(entry.value)) this.#entries.delete(key);
    }
  }

  /** Removes every "none" answer (something may exist now that did not). */
  deleteMisses(): void {
    for (const [key, entry] of this.#entries.entries()) if (entry.value === null) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
