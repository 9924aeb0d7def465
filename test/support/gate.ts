/** Test helpers for holding an operation at a step: a gate to open later, or a process that dies there. */
import type { CallEvent, StepEvent } from '../../src/index.js';

/** A promise (`closed`) that resolves when `open()` is called. */
export function gate(): { closed: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const closed = new Promise<void>((done) => {
    open = done;
  });
  return { closed, open };
}

/**
 * An `afterStep` hook that makes its process "die" at `step` (of `op`, when
 * given): the hook never returns, so nothing after that step runs, as after a
 * SIGKILL. `reached` resolves when the step is hit.
 */
export function dieAt(step: string, op?: StepEvent['op']) {
  const hit = gate();
  return {
    reached: hit.closed,
    afterStep: (event: StepEvent) => {
      if (event.step !== step || (op && event.op !== op)) return;
      hit.open();
      return new Promise<void>(() => {});
    },
  };
}

/**
 * An `afterCall` hook that makes its process "die" after its `n`th database
 * call (1-based) made under a lease, or while taking one over: the hook never
 * returns, so nothing after that call runs. `reached` resolves when it dies;
 * `calls` lists every call seen, so a clean run tells how many there are.
 */
export function dieAfterCall(n = Number.POSITIVE_INFINITY) {
  const hit = gate();
  const calls: CallEvent[] = [];
  return {
    reached: hit.closed,
    calls,
    afterCall: (event: CallEvent) => {
      calls.push(event);
      if (calls.length !== n) return;
      hit.open();
      return new Promise<void>(() => {});
    },
  };
}
