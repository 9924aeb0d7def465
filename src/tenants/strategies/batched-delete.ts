/**
 * Deleting one tenant's documents from a shared collection in batches, each
 * call well inside its deadline however slowly the server deletes.
 */
import { performance } from 'node:perf_hooks';
import type { Collection, Document } from 'mongodb';
import type { Runner } from '../../internal/execute.js';

/** The smallest batch: below it, a round trip costs more than the documents it deletes. */
const SMALLEST = 100;

/**
 * Deletes what `filter` matches, at most `most` documents per call, walking
 * them in `_id` order: each round reads the next batch's ids and deletes the
 * `_id` range they span (still under `filter`), so no call carries a list of
 * ids. The batch adapts to the server: a round whose slower call took over
 * half its deadline halves the next batch (down to 100), one under an eighth
 * doubles it (up to `most`), so a server that deletes each document slowly
 * (many indexes, a slow majority) keeps a drop's calls inside their
 * deadlines. A server whose every call costs a collection scan (FerretDB v1)
 * is not helped by smaller batches: there a longer lease is the remedy. A document written into a range
 * already passed is left for `purgeTombstones`, as any write that lands
 * after the drop is.
 *
 * @returns How many documents were deleted.
 * @throws {@link TenancyError} `STORAGE` or `CONFLICT` from a call, as `via` reports it.
 */
export async function deleteInBatches(
  via: Runner,
  collection: Collection,
  filter: Document,
  most: number,
): Promise<number> {
  let deleted = 0;
  let after: unknown;
  let batch = most;
  for (;;) {
    const next = after === undefined ? filter : { ...filter, _id: { $gt: after } };
    let deadline: number | undefined;
    const found = await timed(() =>
      via.run('find tenant documents', (o) => {
        deadline = o.maxTimeMS;
        return collection.find(next, { ...o, projection: { _id: 1 }, sort: { _id: 1 }, limit: batch }).toArray();
      }),
    );
    const first = found.value[0];
    const last = found.value.at(-1);
    if (first === undefined || last === undefined) return deleted;
    const removed = await timed(() =>
      via.run('delete tenant documents', (o) =>
        collection.deleteMany({ ...filter, _id: { $gte: first._id, $lte: last._id } }, o),
      ),
    );
    deleted += removed.value.deletedCount;
    after = last._id;
    batch = resized(batch, most, Math.max(found.ms, removed.ms), deadline);
  }
}

/** The next batch size, given how long the slower call of this round took against the calls' deadline. */
function resized(batch: number, most: number, tookMs: number, deadlineMs: number | undefined): number {
  if (deadlineMs === undefined) return batch; // no deadline: nothing to keep inside
  if (tookMs > deadlineMs / 2) return Math.max(SMALLEST, Math.floor(batch / 2));
  if (tookMs < deadlineMs / 8) return Math.min(most, batch * 2);
  return batch;
}

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await call();
  return { value, ms: performance.now() - start };
}
