/**
 * Framework-agnostic HTTP helpers for adapters: reading a bearer token, and
 * turning any error into an RFC 9457 problem (`application/problem+json`)
 * with the right status and headers. The HTTP status of a code is decided
 * here, at the edge, from {@link ERROR_CODES}.
 *
 * @packageDocumentation
 */
import { ERROR_CODES, type ErrorCode, TenancyError } from './errors.js';

/** The media type of problem responses. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const MAX_TOKEN_LENGTH = 8192;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** An RFC 9457 problem, as adapters send it. `detail` is the field FastAPI clients read. */
export interface Problem {
  /** A URI naming the problem type: `urn:mongo-tenancy:error:<code>`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The library's stable code, or `INTERNAL` for an unexpected error. */
  code: ErrorCode | 'INTERNAL';
  /** One entry per invalid field, for 422 responses. */
  errors?: Array<{ field: string; message: string }>;
  /** Seconds to wait, for 429 and retryable 503 responses (also sent as `Retry-After`). */
  retryAfter?: number;
}

/** An HTTP response for an error. */
export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: Problem;
  /** `false` for unexpected errors: log them, since the body says nothing about them. */
  expected: boolean;
}

/**
 * The token of an `Authorization: Bearer <token>` header, or `null`.
 *
 * @example
 * ```ts
 * const token = bearerToken(req.headers.authorization);
 * ```
 */
export function bearerToken(header: string | string[] | undefined | null): string | null {
  if (typeof header !== 'string' || header.length > MAX_TOKEN_LENGTH + 16) return null;
  return BEARER.exec(header)?.[1] ?? null;
}

/**
 * The token of a request's `Authorization` header.
 *
 * @throws {@link TenancyError} `TOKEN_INVALID` when there is no well-formed bearer token.
 */
export function requireBearerToken(header: string | string[] | undefined | null): string {
  const token = bearerToken(header);
  if (!token) throw new TenancyError('TOKEN_INVALID', 'A bearer token is required');
  return token;
}

// Codes whose own message may describe internals (a database operation, an option) get a fixed text instead.
const GENERIC_DETAIL: Partial<Record<ErrorCode, string>> = {
  STORAGE: 'The service is temporarily unavailable',
  CLOSED: 'The service is shutting down',
  INVALID_OPTIONS: 'The service is misconfigured',
};

/**
 * The problem response for any error: a {@link TenancyError} keeps its code
 * and status; anything else is a 500 that reveals nothing (`expected: false`).
 * A 401 carries `WWW-Authenticate: Bearer`; a 429 (`LOCKED`) and a retryable
 * 503 (`TENANT_UNAVAILABLE` for an organization mid-operation) carry
 * `Retry-After`, from the error's `details.retryAfter`.
 *
 * @example
 * ```ts
 * const problem = toProblem(err);
 * res.writeHead(problem.status, { ...problem.headers, 'content-type': PROBLEM_CONTENT_TYPE });
 * res.end(JSON.stringify(problem.body));
 * ```
 */
export function toProblem(error: unknown): ProblemResponse {
  if (!(error instanceof TenancyError)) {
    const body: Problem = {
      type: 'urn:mongo-tenancy:error:INTERNAL',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred',
      code: 'INTERNAL',
    };
    return { status: 500, headers: {}, body, expected: false };
  }
  const code: ErrorCode = error.code;
  const { status, message } = ERROR_CODES[code];
  const body: Problem = {
    type: `urn:mongo-tenancy:error:${code}`,
    title: message,
    status,
    detail: GENERIC_DETAIL[code] ?? error.message,
    code,
  };
  const headers: Record<string, string> = {};
  const { issues, field, retryAfter } = error.details;
  if (status === 422)
    body.errors = issues
      ? [...issues].map((i) => ({ field: i.path, message: i.message }))
      : [{ field: field ?? '(body)', message: error.message }];
  if (retryAfter !== undefined) {
    body.retryAfter = retryAfter;
    headers['retry-after'] = String(retryAfter);
  }
  if (status === 401) headers['www-authenticate'] = `Bearer error="invalid_token"`;
  return { status, headers, body, expected: code !== 'STORAGE' && code !== 'INVALID_OPTIONS' };
}
