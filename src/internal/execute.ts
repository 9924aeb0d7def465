/**
 * Every database call of the library goes through {@link execute}, which turns
 * driver errors into {@link TenancyError}s (code `STORAGE`, the driver error as
 * `cause`), classified by the server's numeric code, never by message text.
 */
import { TenancyError } from '../errors.js';

/** MongoDB server error codes the library reacts to. */
export const ServerCode = {
  NamespaceNotFound: 26,
  NamespaceExists: 48,
  DuplicateKey: 11000,
  NotImplemented: 238,
} as const;

function serverCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Runs one database call; a driver failure becomes a `STORAGE` error. */
export async function execute<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TenancyError) throw error;
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
 * Runs one database call and returns `onCode` instead of throwing when the
 * server answers with one of `codes` (a duplicate key, a missing namespace, ...).
 */
export async function executeExpecting<T, F>(
  operation: string,
  codes: number | readonly number[],
  onCode: F,
  call: () => Promise<T>,
): Promise<T | F> {
  try {
    return await execute(operation, call);
  } catch (error) {
    if (hasServerCode(error, codes)) return onCode;
    throw error;
  }
}
