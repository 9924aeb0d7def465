/**
 * Framework-agnostic HTTP helpers for adapters: reading a bearer token, and
 * turning any error into an RFC 9457 problem (`application/problem+json`)
 * with the right status and headers. The HTTP status of a code is decided
 * here, at the edge, from {@link ERROR_CODES}.
 *
 * @packageDocumentation
 */
import { STATUS_CODES } from 'node:http';
import { ERROR_CODES, type ErrorCode, isTenancyError, TenancyError } from './errors.js';

/** The media type of problem responses. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const MAX_TOKEN_LENGTH = 8192;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** An RFC 9457 problem, as adapters send it. `detail` says what happened, for people. */
export interface Problem {
  /** A URI naming the problem type: `urn:mongo-tenancy:error:<code>`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /**
   * The library's stable code; `CLIENT_ERROR` for another library's 4xx
   * (a body parser's 400 or 413, ...: `status` says which); `INTERNAL` for
   * an unexpected error.
   */
  code: ErrorCode | 'CLIENT_ERROR' | 'INTERNAL';
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
 * @throws {@link TenancyError} `TOKEN_INVALID` when there is no well-formed
 * bearer token; with `details.reason: 'missing'` when there is no bearer
 * token at all (no `Authorization` header, or another scheme), so that {@link toProblem} answers with a
 * plain `WWW-Authenticate: Bearer` challenge (RFC 6750 §3.1).
 *
 * @example
 * ```ts
 * const auth = await authService.verify(requireBearerToken(req.headers.authorization));
 * ```
 */
export function requireBearerToken(header: string | string[] | undefined | null): string {
  const token = bearerToken(header);
  if (token) return token;
  // No bearer credentials at all: no header, or another scheme (RFC 6750 §3.1 "an unsupported authentication method").
  const missing = typeof header !== 'string' ? !Array.isArray(header) : !/^\s*Bearer(\s|$)/i.test(header);
  throw new TenancyError(
    'TOKEN_INVALID',
    missing ? 'A bearer token is required' : 'The Authorization header is not a well-formed bearer token',
    missing ? { details: { reason: 'missing' } } : undefined,
  );
}

// Codes whose own message may describe internals (a database operation, an option) get a fixed text instead.
const GENERIC_DETAIL: Partial<Record<ErrorCode, string>> = {
  STORAGE: 'The service is temporarily unavailable',
  CLOSED: 'The service is shutting down',
  INVALID_OPTIONS: 'The service is misconfigured',
};

/**
 * Another library's client error, or `undefined`: an object with a 4xx
 * `status` or `statusCode` that says it is meant for the client, by
 * `expose: true` (http-errors, so Express's body-parser and Koa's
 * `ctx.throw`), by a body parser's `type` (`entity.parse.failed`,
 * `entity.too.large`, `encoding.unsupported`, ...), or as a `SyntaxError`
 * (a JSON body that does not parse). A 4xx from anything else (an HTTP
 * client's failed call to another service, say) is not the caller's fault:
 * it stays an unexpected 500.
 */
function clientError(error: unknown): { status: number; message: string | undefined } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode, expose, message, type } = error as Record<string, unknown>;
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 499) return undefined;
  const fromParser = typeof type === 'string' && /^(entity|encoding|charset|request)\./.test(type);
  if (!(expose === true || fromParser || error instanceof SyntaxError)) return undefined;
  // http-errors marks 4xx messages as meant for the client (`expose: true`); anything else gets the status text.
  const shown = expose === true && typeof message === 'string' && message.length > 0 && message.length <= 200;
  return { status: code, message: shown ? message : undefined };
}

function internalProblem(): ProblemResponse {
  const body: Problem = {
    type: 'urn:mongo-tenancy:error:INTERNAL',
    title: 'Internal Server Error',
    status: 500,
    detail: 'An unexpected error occurred',
    code: 'INTERNAL',
  };
  return { status: 500, headers: {}, body, expected: false };
}

/**
 * The problem response for any error:
 *
 * - a {@link TenancyError} (from this copy of the library or another one in
 *   the same process) keeps its code and status;
 * - another library's client error, an object with a 4xx `status` or
 *   `statusCode` marked as meant for the client (`expose: true`, a body
 *   parser's `type`, or a `SyntaxError`: Express's and Koa's body parsers
 *   give 400 for invalid JSON, 413 for a body too large, 415, ...; any
 *   http-errors 4xx), keeps its status, with code `CLIENT_ERROR`; its message
 *   is shown only when `expose` is `true`. A 4xx without such a mark (an HTTP
 *   client's failed call to another service) is a 500;
 * - anything else is a 500 `INTERNAL` that reveals nothing.
 *
 * `expected` is `false` only for real failures (`INTERNAL`, `STORAGE`,
 * `INVALID_OPTIONS`): log those. A 401 carries a `WWW-Authenticate: Bearer`
 * challenge, with `error="invalid_token"` unless the request had no token at
 * all (RFC 6750 §3.1). A 429 (`LOCKED`) and a retryable 503
 * (`TENANT_UNAVAILABLE` for an organization mid-operation) carry
 * `Retry-After`, from the error's `details.retryAfter`.
 *
 * @throws Nothing: every value, even `undefined`, gets a response.
 *
 * @example
 * ```ts
 * const problem = toProblem(err);
 * if (!problem.expected) console.error(err);
 * res.writeHead(problem.status, { ...problem.headers, 'content-type': PROBLEM_CONTENT_TYPE });
 * res.end(JSON.stringify(problem.body));
 * ```
 */
export function toProblem(error: unknown): ProblemResponse {
  if (!isTenancyError(error)) {
    const client = clientError(error);
    if (!client) return internalProblem();
    const title = STATUS_CODES[client.status] ?? 'Client Error';
    const body: Problem = {
      type: 'urn:mongo-tenancy:error:CLIENT_ERROR',
      title,
      status: client.status,
      detail: client.message ?? title,
      code: 'CLIENT_ERROR',
    };
    return { status: client.status, headers: {}, body, expected: true };
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
  const { issues, field, retryAfter, reason } = error.details ?? {};
  if (status === 422)
    body.errors = issues
      ? [...issues].map((i) => ({ field: i.path, message: i.message }))
      : [{ field: field ?? '(body)', message: error.message }];
  if (retryAfter !== undefined) {
    body.retryAfter = retryAfter;
    headers['retry-after'] = String(retryAfter);
  }
  if (status === 401) {
    // RFC 6750 §3.1: a request with no credentials gets the bare challenge, without an error code.
    headers['www-authenticate'] =
      code === 'TOKEN_INVALID' && reason === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"';
  }
  return { status, headers, body, expected: code !== 'STORAGE' && code !== 'INVALID_OPTIONS' };
}
