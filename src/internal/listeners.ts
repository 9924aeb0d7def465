/**
 * Listeners of one kind of event, for the caches that keep answers: each is
 * told once a change is done, and what one throws is ignored (a cache's
 * listener failing must not fail the change that already happened).
 */
export class Listeners<E> {
  readonly #listeners = new Set<(event: E) => void>();

  /** Adds a listener; the function returned removes it. */
  on(listener: (event: E) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // Ignored: see the module's TSDoc.
      }
    }
  }
}
