/**
 * The library's one error class and its catalog of stable codes.
 *
 * Every failure the library reports is a {@link TenancyError} whose `code` is
 * one of {@link ErrorCode}; a `switch (err.code)` narrows. The HTTP status of a
 * code is decided only by {@link httpStatus}, at the edge.
 *
 * @packageDocumentation
 */

/** Every error code, with its default message and its HTTP status. */
export const ERROR_CODES = {
  INVALID_OPTIONS: { status: 500, message: 'The options passed to the constructor are invalid' },
  INVALID_INPUT: { status: 422, message: 'The input is invalid' },
  INVALID_NAME: { status: 422, message: 'The organization name is invalid' },
  TENANT_EXISTS: { status: 409, message: 'An organization with this name already exists' },
  TENANT_NOT_FOUND: { status: 404, message: 'The organization does not exist' },
  TENANT_UNAVAILABLE: { status: 503, message: 'The organization is being changed or removed' },
  CONFLICT: { status: 409, message: 'Another operation on this organization is in progress' },
  STORAGE: { status: 503, message: 'The database operation failed' },
  CLOSED: { status: 503, message: 'The service is closed' },
  INVALID_CREDENTIALS: { status: 401, message: 'The email or password is incorrect' },
  LOCKED: { status: 429, message: 'Too many failed attempts; try again later' },
  TOKEN_INVALID: { status: 401, message: 'The access token is invalid' },
  TOKEN_EXPIRED: { status: 401, message: 'The access token has expired' },
  TOKEN_REVOKED: { status: 401, message: 'The access token has been revoked' },
  FORBIDDEN: { status: 403, message: 'This token does not give access to that organization' },
  EMAIL_TAKEN: { status: 409, message: 'An admin with this email already exists' },
  WEAK_PASSWORD: { status: 422, message: 'The password does not meet the password rules' },
  ADMIN_NOT_FOUND: { status: 404, message: 'The admin does not exist' },
  DOMAIN_TAKEN: { status: 409, message: 'Another organization holds this domain' },
  NO_TENANT_CONTEXT: {
    status: 500,
    message: 'No tenant context: this code runs for a tenant, but no runWithTenant or tenant middleware set one',
  },
  UNSCOPED_OPERATION: {
    status: 500,
    message: 'This operation would reach beyond one tenant, so a scoped collection refuses it',
  },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable, documented error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra, code-specific facts carried by an error (never secrets). */
export interface ErrorDetails {
  /** The option, field or argument at fault. */
  field?: string;
  /** One entry per invalid field, for validation errors. */
  issues?: ReadonlyArray<{ path: string; message: string }>;
  /** The MongoDB server error code behind a `STORAGE` error. */
  driverCode?: number;
  /** What the library was doing, for `STORAGE` errors. */
  operation?: string;
  /** A `STORAGE` error because the call passed its deadline: whether it took effect is unknown. */
  timedOut?: boolean;
  /**
   * Seconds until a `LOCKED` caller may try again, or after which a
   * `TENANT_UNAVAILABLE` organization caught mid-operation (creating,
   * renaming, dropping) is worth asking for again.
   */
  retryAfter?: number;
  /**
   * A short, safe classification of the failure, when the library knows it:
   *
   * - `TOKEN_INVALID`: `missing` when the request carried no bearer token at
   *   all, no `Authorization` header or another scheme (its 401 then has no
   *   `error` attribute, RFC 6750 §3.1).
   * - `STORAGE`: why the database could not be reached, from the driver
   *   error kept as `cause`: `connection-refused`, `host-not-found`,
   *   `network-timeout`, `network`, `server-selection-timeout` (no server
   *   answered in time, no network error seen) or `client-closed` (the
   *   MongoClient was closed: by the application, or by the driver after its
   *   first connection failed, whose cause `await client.connect()` reports).
   */
  reason?: string;
}

/**
 * The brand every {@link TenancyError} carries: a registry symbol, so that two
 * copies of the library loaded in one process (a CommonJS and an ESM build, or
 * two installed versions) recognise each other's errors.
 */
const BRAND: unique symbol = Symbol.for('mongo-tenancy.error') as never;

function isBranded(value: unknown): value is TenancyError {
  if (typeof value !== 'object' || value === null || (value as { [BRAND]?: unknown })[BRAND] !== true) return false;
  const code = (value as { code?: unknown }).code;
  // A newer copy's code this copy does not know is not one of this copy's errors.
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * The base class of every error this library throws.
 *
 * Errors are recognised by a brand, not by their prototype chain:
 * `err instanceof TenancyError` and {@link isTenancyError} also hold for an
 * error thrown by another copy of the library in the same process (its
 * CommonJS and ESM builds, or two installed versions), as long as its `code`
 * is one this copy knows. Subclasses test `instanceof` as usual.
 *
 * @throws Nothing: constructing one never throws.
 *
 * @example
 * ```ts
 * try {
 *   await tenants.create({ name: 'Acme Corp' });
 * } catch (err) {
 *   if (err instanceof TenancyError && err.code === 'TENANT_EXISTS') {
 *     // pick another name
 *   }
 * }
 * ```
 */
export class TenancyError<C extends ErrorCode = ErrorCode> extends Error {
  /** A stable machine-readable code; match on this, never on `message`. */
  readonly code: C;
  /** Code-specific facts, safe to show to a caller. */
  readonly details: Readonly<ErrorDetails>;

  constructor(code: C, message?: string, options?: { cause?: unknown; details?: ErrorDetails }) {
    super(message ?? ERROR_CODES[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    // Named explicitly: a bundler may rename the class (`_TenancyError`), and every log line shows the name.
    this.name = new.target === TenancyError ? 'TenancyError' : new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...options?.details });
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `instanceof TenancyError` checks the brand, so it holds across copies of the library. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: a subclass (`this`) keeps the usual prototype check.
    if (this !== TenancyError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isBranded(value);
  }
}

/**
 * Whether `value` is a {@link TenancyError}, optionally of one of the given codes.
 *
 * Checks the error's brand, not its prototype: an error from another copy of
 * the library loaded in the same process (CommonJS and ESM) is recognised.
 *
 * @throws Nothing.
 *
 * @example
 * ```ts
 * if (isTenancyError(err, 'TENANT_NOT_FOUND')) return null;
 * ```
 */
export function isTenancyError<C extends ErrorCode>(value: unknown, ...codes: C[]): value is TenancyError<C> {
  return isBranded(value) && (codes.length === 0 || codes.includes(value.code as C));
}

/**
 * The HTTP status for an error code (422 for validation, 404, 409, ...).
 *
 * @example
 * ```ts
 * res.status(httpStatus(err.code));
 * ```
 */
export function httpStatus(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}
