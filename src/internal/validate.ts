import type { z } from 'zod';
import { TenancyError } from '../errors.js';

/**
 * Validates a value once, at the boundary. Constructor options fail with
 * `INVALID_OPTIONS` (programmer misuse, fail fast); call arguments with
 * `INVALID_INPUT`. Either names every invalid field in `details.issues`.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  code: 'INVALID_OPTIONS' | 'INVALID_INPUT',
  label: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const list = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new TenancyError(code, `Invalid ${label}: ${list}`, { details: { field: issues[0]?.path, issues } });
}
