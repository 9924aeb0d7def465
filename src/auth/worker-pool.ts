/**
 * A small pool of worker threads that run bcryptjs off the main thread, so a
 * burst of logins does not stall other requests. The workers are unref'd:
 * they never keep a process alive.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TenancyError } from '../errors.js';

type Job = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };
interface Pending {
  resolve: (value: string | boolean) => void;
  reject: (error: Error) => void;
}

// CommonJS, evaluated in each worker; bcryptjs is loaded from the path this package resolves.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', async ({ id, job }) => {
  try {
    const result = job.op === 'hash' ? await bcrypt.hash(job.password, job.cost) : await bcrypt.compare(job.password, job.hash);
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});
`;

interface Slot {
  worker: Worker;
  /** Jobs sent to this worker and not answered yet. */
  jobs: Map<number, Pending>;
}

export class BcryptWorkerPool {
  readonly size: number;
  #slots: Slot[] = [];
  #next = 0;
  #id = 0;

  constructor(size: number = availableParallelism()) {
    this.size = Math.max(1, size);
  }

  run(job: Job): Promise<string | boolean> {
    const slot = this.#pick();
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.ref(); // a worker with work keeps the process alive until it answers
      slot.worker.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    const slots = this.#slots;
    this.#slots = [];
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
    for (const slot of slots) this.#fail(slot, new TenancyError('CLOSED'));
  }

  #pick(): Slot {
    if (this.#slots.length < this.size) this.#slots.push(this.#spawn());
    const slot = this.#slots[this.#next % this.#slots.length] as Slot;
    this.#next += 1;
    return slot;
  }

  #spawn(): Slot {
    const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath } });
    const slot: Slot = { worker, jobs: new Map() };
    worker.unref();
    worker.on('message', ({ id, result, error }: { id: number; result?: string | boolean; error?: string }) => {
      const pending = slot.jobs.get(id);
      slot.jobs.delete(id);
      if (slot.jobs.size === 0) worker.unref(); // idle workers never keep the process alive
      if (!pending) return;
      if (error !== undefined) pending.reject(new TenancyError('STORAGE', 'Password hashing failed'));
      else pending.resolve(result as string | boolean);
    });
    // A crashed worker fails only its own jobs, with the library's error; the next job gets a fresh worker.
    const retire = () => {
      this.#slots = this.#slots.filter((s) => s !== slot);
      this.#fail(slot, new TenancyError('STORAGE', 'A password hashing worker stopped'));
    };
    worker.once('error', retire);
    worker.once('exit', retire);
    return slot;
  }

  #fail(slot: Slot, error: TenancyError): void {
    for (const pending of slot.jobs.values()) pending.reject(error);
    slot.jobs.clear();
  }
}
