/**
 * A job queue that keeps each job in its tenant. Copy this file: it depends
 * only on the package's public exports, and the queue here (an array) stands
 * for yours (BullMQ, a `jobs` collection, SQS...). A job queued inside a
 * tenant's context carries the tenant's id (`captureTenant`); the worker
 * runs it with `withTenant`, which looks the tenant up again: a job never
 * runs for another tenant, nor for none, nor for one dropped or suspended
 * since it was queued (its code says why).
 */
import { type CapturedTenant, captureTenant, isTenancyError, type TenantManager, withTenant } from 'mongo-tenancy';

/** A job as the queue stores it: plain JSON. */
export interface QueuedJob<P> {
  readonly tenant: CapturedTenant;
  readonly payload: P;
}

/** What became of one job. */
export type JobOutcome = { readonly ok: true } | { readonly ok: false; readonly code: string };

/**
 * A queue and its worker: `enqueue` inside a tenant's context (a request
 * handler, another job), `drain` in the worker process.
 */
export function tenantQueue<P>(tenants: TenantManager, handle: (payload: P) => Promise<void>) {
  const queue: string[] = [];
  return {
    /** Queues a job for the current tenant (throws `NO_TENANT_CONTEXT` outside one). */
    enqueue(payload: P): void {
      const job: QueuedJob<P> = { tenant: captureTenant(), payload };
      queue.push(JSON.stringify(job));
    },
    /** Runs every queued job, in order, each in its own tenant; a job whose tenant is gone fails with its code. */
    async drain(): Promise<JobOutcome[]> {
      const outcomes: JobOutcome[] = [];
      for (let raw = queue.shift(); raw !== undefined; raw = queue.shift()) {
        const job = JSON.parse(raw) as QueuedJob<P>;
        try {
          await withTenant(tenants, job.tenant, () => handle(job.payload));
          outcomes.push({ ok: true });
        } catch (error) {
          if (!isTenancyError(error)) throw error;
          outcomes.push({ ok: false, code: error.code });
        }
      }
      return outcomes;
    },
  };
}
