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

export class BcryptWorkerPool {
  readonly size: number;
  #workers: Worker[] = [];
  #next = 0;
  #id = 0;
  readonly #pending = new Map<number, Pending>();

  constructor(size: number = availableParallelism()) {
    this.size = Math.max(1, size);
  }

  run(job: Job): Promise<string | boolean> {
    const worker = this.#pick();
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
    for (const pending of this.#pending.values()) pending.reject(new TenancyError('CLOSED'));
    this.#pending.clear();
  }

  #pick(): Worker {
    if (this.#workers.length < this.size) this.#workers.push(this.#spawn());
    const worker = this.#workers[this.#next % this.#workers.length] as Worker;
    this.#next += 1;
    return worker;
  }

  #spawn(): Worker {
    const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath } });
    worker.unref();
    worker.on('message', ({ id, result, error }: { id: number; result?: string | boolean; error?: string }) => {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (this.#pending.size === 0) for (const w of this.#workers) w.unref();
      if (!pending) return;
      if (error !== undefined) pending.reject(new TenancyError('STORAGE', `Password hashing failed: ${error}`));
      else pending.resolve(result as string | boolean);
    });
    worker.on('error', (error) => {
      this.#workers = this.#workers.filter((w) => w !== worker);
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    });
    return worker;
  }
}
