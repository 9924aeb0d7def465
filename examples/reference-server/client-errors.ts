/**
 * The errors the reference server raises for what the library does not see: a request body a parser could not read,
 * and a path or method no route serves. They are errors, not responses: both adapters' `problemHandler()` answers
 * every error through the library's `toProblem`, the one problem builder.
 *
 * The library's catalogue has no code for a body too large (413), an encoding the server does not read (415), a
 * route that does not exist (404) or a method a path does not take (405), and its 404 codes name a missing
 * organization or admin, which would mislead. So these are client errors as http-errors makes them (a 4xx `status`,
 * `expose: true`): `toProblem` keeps their status, answers with code `CLIENT_ERROR` and the status text as title,
 * and shows the message given here as `detail`. Anything else a parser rejects (invalid JSON, a body that does not
 * decompress) is bad input: `INVALID_INPUT`, 422, as the original FastAPI service answers.
 */
import { TenancyError } from 'mongo-tenancy';

/** A client error `toProblem` answers with its `status` (4xx), code `CLIENT_ERROR` and `detail` as `detail`. */
export function clientError(status: number, detail: string): Error & { status: number; expose: true } {
  return Object.assign(new Error(detail), { status, expose: true as const });
}

/** A path no route serves, or a method a path does not take (405 only where the framework says so). */
export function noRoute(status: 404 | 405 = 404): Error {
  return status === 405 ? clientError(405, 'This path does not take this method') : clientError(404, 'No such route');
}

/**
 * What a body parser (Express's `express.json`, Koa's `@koa/bodyparser`) failed with, as the error to answer:
 * 413 and 415 keep their status; any other client error of the parser, or a stream error without a status (a body
 * that does not decompress, on Koa), is `INVALID_INPUT`. A parser's own failure (a 5xx) stays what it is: a 500.
 */
export function bodyError(error: unknown): unknown {
  const { status, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : undefined;
  if (code === 413) return clientError(413, 'The request body is larger than 16 KiB');
  if (code === 415) return clientError(415, 'The request body is in an encoding or charset this server does not read');
  if (code !== undefined && code >= 500) return error;
  return new TenancyError('INVALID_INPUT', 'The request body is not valid JSON', {
    cause: error,
    details: { field: 'body' },
  });
}
