/**
 * Every database call of the library goes through {@link execute}, which turns
 * driver errors into {@link TenancyError}s (code `STORAGE`, the driver error as
 * `cause`), classified by the server's numeric code, never by message text,
 * and, when given a deadline, bounds the call on both sides: `maxTimeMS` for
 * the server, an abort signal that stops the driver from sending it late
 * (after waiting for a server or a connection), and a client-side timer
 * after which the caller stops waiting.
 */
import { TenancyError } from '../errors.js';

/** MongoDB server error codes the library reacts to. */
export const ServerCode = {
  NamespaceNotFound: 26,
  NamespaceExists: 48,
  DuplicateKey: 11000,
  NotImplemented: 238,
} as const;

/** Options the executor hands a call: spread them into the driver method's options. */
export interface CallOptions {
  /** The server-side time limit of the command, when the call has a deadline. */
  readonly maxTimeMS?: number;
  /**
   * Aborts at the deadline: the driver gives up waiting for a server or a
   * connection, so a call never leaves the client after its deadline.
   */
  readonly signal?: AbortSignal;
}

/** One database call, given the options to pass to the driver. */
export type Call<T> = (options: CallOptions) => Promise<T>;

/** Something that runs database calls: {@link direct}, or a lease (which checks it still holds, and bounds each call). */
export interface Runner {
  run<T>(operation: string, call: Call<T>): Promise<T>;
}

/** Runs calls with no lease and no deadline: reads, and writes that need no fence. */
export const direct: Runner = { run: (operation, call) => execute(operation, call) };

function serverCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function timedOut(operation: string, timeoutMs: number, cause?: unknown): TenancyError<'STORAGE'> {
  return new TenancyError('STORAGE', `Database operation timed out after ${timeoutMs} ms: ${operation}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { operation, timedOut: true },
  });
}

/** Resolves as `pending` does, or rejects once `timeoutMs` passed; the call itself is left to finish or fail. */
function withDeadline<T>(pending: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(timedOut(operation, timeoutMs)), timeoutMs);
    timer.unref();
  });
  pending.catch(() => undefined); // a late failure after the deadline is nobody's to handle
  return Promise.race([pending, expired]).finally(() => clearTimeout(timer));
}

/**
 * Runs one database call; a driver failure becomes a `STORAGE` error. With
 * `timeoutMs`, the call gets `maxTimeMS` and the caller stops waiting after
 * that long (`STORAGE` with `details.timedOut`): whether the command took
 * effect is then unknown.
 */
export async function execute<T>(operation: string, call: Call<T>, timeoutMs?: number): Promise<T> {
  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  try {
    if (timeoutMs === undefined || signal === undefined) return await call({});
    return await withDeadline(call({ maxTimeMS: timeoutMs, signal }), timeoutMs, operation);
  } catch (error) {
    if (error instanceof TenancyError) throw error;
    if (signal?.aborted && timeoutMs !== undefined) throw timedOut(operation, timeoutMs, error);
    const driverCode = serverCode(error);
    throw new TenancyError('STORAGE', `Database operation failed: ${operation}`, {
      cause: error,
      details: driverCode === undefined ? { operation } : { operation, driverCode },
    });
  }
}

/** Whether `error` is a translated failure with one of the given server codes. */
export function hasServerCode(error: unknown, codes: number | readonly number[]): boolean {
  const driverCode = error instanceof TenancyError && error.code === 'STORAGE' ? error.details.driverCode : undefined;
  return driverCode !== undefined && ([] as number[]).concat(codes).includes(driverCode);
}

/**
 * Runs one database call through `via` and returns `onCode` instead of
 * throwing when the server answers with one of `codes` (a duplicate key, a
 * missing namespace, ...).
 */
export async function executeExpecting<T, F>(
  operation: string,
  codes: number | readonly number[],
  onCode: F,
  call: Call<T>,
  via: Runner = direct,
): Promise<T | F> {
  try {
    return await via.run(operation, call);
  } catch (error) {
    if (hasServerCode(error, codes)) return onCode;
    throw error;
  }
}
