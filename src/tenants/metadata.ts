import { TenancyError } from '../errors.js';

/** The largest metadata object, as JSON. */
export const MAX_METADATA_BYTES = 16 * 1024;
const MAX_DEPTH = 8;

function invalid(message: string): TenancyError<'INVALID_INPUT'> {
  return new TenancyError('INVALID_INPUT', message, { details: { field: 'metadata' } });
}

function checkValue(value: unknown, depth: number): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid('Metadata numbers must be finite');
    return;
  }
  if (depth >= MAX_DEPTH) throw invalid(`Metadata is nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (const item of value) checkValue(item, depth + 1);
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '' || key.startsWith('$') || key.includes('.') || key.includes('\0')) {
        throw invalid('Metadata keys must be non-empty and must not start with $ or contain . or NUL');
      }
      checkValue(item, depth + 1);
    }
    return;
  }
  throw invalid('Metadata must be plain JSON: objects, arrays, strings, finite numbers, booleans and null');
}

/**
 * Validates tenant metadata: a plain JSON object of at most 16 KiB whose keys
 * are safe as MongoDB field names.
 *
 * @throws {@link TenancyError} `INVALID_INPUT` otherwise.
 */
export function parseMetadata(input: unknown): Record<string, unknown> {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('Metadata must be an object');
  checkValue(input, 0);
  if (Buffer.byteLength(JSON.stringify(input)) > MAX_METADATA_BYTES) {
    throw invalid(`Metadata is larger than ${MAX_METADATA_BYTES} bytes`);
  }
  return structuredClone(input as Record<string, unknown>);
}
