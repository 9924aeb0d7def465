/** Small helpers for benchmarks: timing, medians and percentiles, Markdown tables. */
import { performance } from 'node:perf_hooks';

export interface Summary {
  n: number;
  median: number;
  p95: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return { n: sorted.length, median: round(at(0.5)), p95: round(at(0.95)) };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `fn` `times` times in sequence and returns each duration in milliseconds. */
export async function timeEach(times: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

/**
 * Operations per second of `a` and of `b` (medians over `rounds` rounds of
 * `perRound` sequential calls), and the median of the per-round ratios b/a.
 * The two run in adjacent, alternating rounds, so drift in the machine (JIT,
 * GC, other load) falls on both alike and each ratio compares like with like.
 */
export async function throughputs(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  perRound: number,
  rounds = 15,
): Promise<{ a: number; b: number; ratio: number }> {
  const rate = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    for (let i = 0; i < perRound; i++) await fn();
    return perRound / ((performance.now() - start) / 1000);
  };
  for (let i = 0; i < 500; i++) await Promise.all([a(), b()]); // warm up both
  const aRates: number[] = [];
  const bRates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      aRates.push(await rate(a));
      bRates.push(await rate(b));
    } else {
      bRates.push(await rate(b));
      aRates.push(await rate(a));
    }
  }
  const ratios = aRates.map((x, i) => (bRates[i] as number) / x);
  return { a: summarize(aRates).median, b: summarize(bRates).median, ratio: summarize(ratios).median };
}

/**
 * Operations per second of `a` and of `b` for calls that wait on a server
 * (hundreds of microseconds each): each round runs `perRound` pairs, one
 * call of each, the order alternating from pair to pair, each call timed on
 * its own. Both sides then meet the server in the same state (a checkpoint,
 * a collection that grows), which rounds of one side at a time do not
 * give. Rates and the ratio b/a are medians over the rounds, as in
 * {@link throughputs}; the timer costs well under a microsecond a call.
 */
export async function pairedThroughputs(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  perRound: number,
  rounds = 15,
): Promise<{ a: number; b: number; ratio: number }> {
  const timed = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };
  for (let i = 0; i < 200; i++) await Promise.all([a(), b()]); // warm up both
  const aRates: number[] = [];
  const bRates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let aTime = 0;
    let bTime = 0;
    for (let i = 0; i < perRound; i++) {
      if (i % 2 === 0) {
        aTime += await timed(a);
        bTime += await timed(b);
      } else {
        bTime += await timed(b);
        aTime += await timed(a);
      }
    }
    aRates.push(perRound / (aTime / 1000));
    bRates.push(perRound / (bTime / 1000));
  }
  const ratios = aRates.map((x, i) => (bRates[i] as number) / x);
  return { a: summarize(aRates).median, b: summarize(bRates).median, ratio: summarize(ratios).median };
}

/** A Markdown table with padded columns (as the formatter leaves it). */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = cells;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
