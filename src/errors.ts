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
}

/**
 * The base class of every error this library throws.
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
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...options?.details });
  }
}

/**
 * Whether `value` is a {@link TenancyError}, optionally of one of the given codes.
 *
 * @example
 * ```ts
 * if (isTenancyError(err, 'TENANT_NOT_FOUND')) return null;
 * ```
 */
export function isTenancyError<C extends ErrorCode>(value: unknown, ...codes: C[]): value is TenancyError<C> {
  return value instanceof TenancyError && (codes.length === 0 || codes.includes(value.code as C));
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
