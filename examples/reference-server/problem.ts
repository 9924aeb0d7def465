/**
 * The reference server's error-to-response rule, given to both adapters'
 * `problemHandler({ toProblem: problemFor })`: the library's problem for its
 * own errors (`toProblem`), and the answers the original service gives to
 * what a body parser rejects (too large: 413; an encoding it cannot decode:
 * 415; anything else, invalid JSON or a body that does not decompress: 422,
 * as FastAPI answers).
 */
import { type ProblemResponse, TenancyError, toProblem } from 'mongo-tenancy';

interface ParserError {
  type?: string;
  status?: number;
  statusCode?: number;
}

export function problemFor(error: unknown): ProblemResponse {
  const parser = error as ParserError | null;
  const status = parser?.status ?? parser?.statusCode;
  if (!(error instanceof TenancyError) && typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413 || parser?.type === 'entity.too.large') {
      return {
        status: 413,
        headers: {},
        expected: true,
        body: {
          type: 'urn:mongo-tenancy:error:PAYLOAD_TOO_LARGE',
          title: 'Payload Too Large',
          status: 413,
          detail: 'The request body is larger than 16 KiB',
          code: 'INVALID_INPUT',
        },
      };
    }
    if (status === 415) {
      return {
        status: 415,
        headers: {},
        expected: true,
        body: {
          type: 'urn:mongo-tenancy:error:UNSUPPORTED_MEDIA_TYPE',
          title: 'Unsupported Media Type',
          status: 415,
          detail: 'The request body is in an encoding or charset this server does not read',
          code: 'INVALID_INPUT',
        },
      };
    }
    return toProblem(
      new TenancyError('INVALID_INPUT', 'The request body is not valid JSON', { details: { field: 'body' } }),
    );
  }
  return toProblem(error);
}

/**
 * For a body parser's `onError` (Koa's): what it could not read, reported as Express's body-parser reports it, with
 * its own status kept and a stream error (a body that does not decompress) made a 400, so that `problemFor`
 * answers it as bad input rather than as an unexpected 500.
 */
export function rethrowBodyError(error: unknown): never {
  if (typeof (error as ParserError | null)?.status === 'number') throw error;
  throw Object.assign(new Error('The request body could not be read', { cause: error }), { status: 400 });
}
