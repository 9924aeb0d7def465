/**
 * The one error-to-response rule both adapters use: the library's problem
 * for its own errors (`toProblem`), and the right 4xx for what a body parser
 * rejects (too large: 413; not JSON: 422, as FastAPI answers).
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
    return toProblem(
      new TenancyError('INVALID_INPUT', 'The request body is not valid JSON', { details: { field: 'body' } }),
    );
  }
  return toProblem(error);
}
