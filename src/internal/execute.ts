/**
 * Every database call of the library goes through {@link execute}, which turns
 * driver errors into {@link TenancyError}s (code `STORAGE`, the driver error as
 * `cause`), classified by the server's numeric code, never by message text,
 * and, when given a deadline, bounds the call on both sides: `maxTimeMS` for
 * the server, an abort signal that stops the driver from sending it late
 * (after waiting for a server or a connection), and a client-side timer
 * after which the caller stops waiting. A database that cannot be reached is
 * reported with its root cause: `details.reason` classifies it, the message
 * names it, and the driver error stays the `cause`.
 */
import { isTenancyError, TenancyError } from '../errors.js';

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

/** Something that runs database calls: directly, or under a lease (which checks it still holds, and bounds each call). */
export interface Runner {
  run<T>(operation: string, call: Call<T>): Promise<T>;
}

/** Runs calls with no lease and no deadline: reads, and writes that need no fence. */
export const direct: Runner = { run: (operation, call) => execute(operation, call) };

function serverCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection-refused',
  ENOTFOUND: 'host-not-found',
  EAI_AGAIN: 'host-not-found',
  ETIMEDOUT: 'network-timeout',
};

const EXPLAIN: Readonly<Record<string, string>> = {
  'client-closed':
    'the MongoClient is closed: by the application, or by the driver after a first connection failed; await client.connect() at start-up reports why',
  'server-selection-timeout': 'no server answered within serverSelectionTimeoutMS',
};

/** The first network-level error under a driver error: its causes, and the servers of a server-selection error. */
function rootCause(error: unknown, depth = 0): Error | undefined {
  if (!(error instanceof Error) || depth > 5) return undefined;
  // A Node system error (`syscall`, `code` such as ECONNREFUSED), or the driver's network error around it.
  if ('syscall' in error || error.name.startsWith('MongoNetwork')) {
    return rootCause(error.cause, depth + 1) ?? error;
  }
  const servers = (error as { reason?: { servers?: unknown } }).reason?.servers;
  if (servers instanceof Map) {
    for (const server of servers.values()) {
      const found = rootCause((server as { error?: unknown } | null)?.error, depth + 1);
      if (found) return found;
    }
  }
  return rootCause(error.cause, depth + 1);
}

/** Why the database could not be reached (see `ErrorDetails.reason`), and the root error, or `undefined`. */
function unreachable(error: unknown): { reason: string; root: Error | undefined } | undefined {
  const name = error instanceof Error ? error.name : '';
  if (name === 'MongoTopologyClosedError' || name === 'MongoNotConnectedError') {
    return { reason: 'client-closed', root: undefined };
  }
  const root = rootCause(error);
  if (root) {
    const code = (root as { code?: unknown }).code;
    const reason = typeof code === 'string' ? NETWORK_CODES[code] : undefined;
    return { reason: reason ?? (root.name === 'MongoNetworkTimeoutError' ? 'network-timeout' : 'network'), root };
  }
  if (name === 'MongoServerSelectionError') return { reason: 'server-selection-timeout', root: undefined };
  return undefined;
}

function timedOut(operation: string, timeoutMs: number | undefined, cause?: unknown): TenancyError<'STORAGE'> {
  return new TenancyError('STORAGE', `Database operation timed out after ${timeoutMs} ms: ${operation}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { operation, timedOut: true },
  });
}

/**
 * Resolves as `pending` does, or rejects once `signal` aborts (the deadline),
 * even where the driver ignores the signal; the call itself is left to
 * finish or fail.
 */
function withDeadline<T>(pending: Promise<T>, signal: AbortSignal, expired: () => Error): Promise<T> {
  pending.catch(() => undefined); // a late failure after the deadline is nobody's to handle
  let onAbort = () => {};
  const aborted = new Promise<never>((_, fail) => {
    onAbort = () => fail(expired());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([pending, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * Runs one database call; a driver failure becomes a `STORAGE` error. With
 * `timeoutMs`, the call gets `maxTimeMS` and the caller stops waiting after
 * that long (`STORAGE` with `details.timedOut`): whether the command took
 * effect is then unknown.
 */
export async function execute<T>(operation: string, call: Call<T>, timeoutMs?: number): Promise<T> {
  // One timer per call: the signal tells the driver and the caller alike that the deadline passed.
  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  try {
    if (signal === undefined) return await call({});
    return await withDeadline(call({ maxTimeMS: timeoutMs, signal }), signal, () => timedOut(operation, timeoutMs));
  } catch (error) {
    if (isTenancyError(error)) throw error;
    if (signal?.aborted) throw timedOut(operation, timeoutMs, error);
    const driverCode = serverCode(error);
    const down = unreachable(error);
    const why = down ? `: ${down.reason} (${down.root?.message ?? EXPLAIN[down.reason] ?? 'no detail'})` : '';
    throw new TenancyError('STORAGE', `Database operation failed: ${operation}${why}`, {
      cause: error,
      details: {
        operation,
        ...(driverCode === undefined ? {} : { driverCode }),
        ...(down ? { reason: down.reason } : {}),
      },
    });
  }
}

/** Whether `error` is a translated failure with one of the given server codes. */
export function hasServerCode(error: unknown, codes: number | readonly number[]): boolean {
  const driverCode = isTenancyError(error, 'STORAGE') ? error.details.driverCode : undefined;
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
