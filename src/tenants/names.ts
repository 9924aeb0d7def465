/**
 * Organization names and the keys derived from them.
 *
 * - The display name is trimmed and NFC-normalized, 1 to 100 characters, with
 *   no control, line-separator or bidirectional-override characters.
 * - The name key decides collisions: NFKC, lower case, every run of characters
 *   that are not letters, marks or digits folded to one `_`. `Acme Corp`,
 *   `acme-corp` and `ACME  CORP` share the key `acme_corp`.
 * - The storage key is the ASCII slug of the name key (at most 40 characters,
 *   `[a-z0-9_]`), or `t_` and a hash of it when the name has no Latin letters
 *   or digits; a collision appends `_2` ... `_9`, then a random suffix, so
 *   every key is at most 48 characters and every physical name built on it fits
 *   MongoDB's and FerretDB's limits.
 */
import { createHash, randomBytes } from 'node:crypto';
import { TenancyError } from '../errors.js';

/** The longest display name, in characters (Unicode code points). */
export const MAX_NAME_LENGTH = 100;
const MAX_SLUG_LENGTH = 40;
const FORBIDDEN = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069\uFEFF]/u;
const RESERVED_KEYS = new Set(['admin', 'local', 'config', 'system']);

/** A validated organization name and the keys derived from it. */
export interface ParsedName {
  /** The display name, trimmed and NFC-normalized. */
  readonly name: string;
  /** The collision key: two names with one name key cannot both exist. */
  readonly nameKey: string;
  /** The preferred storage key (`[a-z0-9_]`), before collision suffixes. */
  readonly slug: string;
}

function invalid(message: string): TenancyError<'INVALID_NAME'> {
  return new TenancyError('INVALID_NAME', message, { details: { field: 'name' } });
}

/**
 * Validates a display name and derives its keys.
 *
 * @throws {@link TenancyError} `INVALID_NAME` when the name is not a string,
 * is empty or longer than 100 characters, holds control characters, or has no
 * letter or digit to derive a key from.
 */
export function parseName(input: unknown): ParsedName {
  if (typeof input !== 'string') throw invalid('The organization name must be a string');
  const name = input.normalize('NFC').trim();
  const length = [...name].length;
  if (length === 0) throw invalid('The organization name is empty');
  if (length > MAX_NAME_LENGTH) throw invalid(`The organization name is longer than ${MAX_NAME_LENGTH} characters`);
  if (FORBIDDEN.test(name)) throw invalid('The organization name contains control characters');
  const nameKey = toNameKey(name);
  if (nameKey === '') throw invalid('The organization name needs at least one letter or digit');
  return { name, nameKey, slug: toSlug(nameKey) };
}

function toNameKey(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{M}\p{N}]+/u)
    .filter(Boolean)
    .join('_');
}

function toSlug(nameKey: string): string {
  const ascii = nameKey
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/_+$/, '');
  if (ascii !== '') return ascii;
  return `t_${createHash('sha256').update(nameKey).digest('hex').slice(0, 12)}`;
}

/**
 * The storage keys to try for a slug, in order: the slug itself (unless it is
 * reserved), then `_2` to `_9`, then random suffixes.
 */
export function* keyCandidates(slug: string): Generator<string> {
  if (!RESERVED_KEYS.has(slug)) yield slug;
  for (let n = 2; n <= 9; n++) yield `${slug}_${n}`;
  for (;;) yield `${slug}_${randomBytes(4).readUInt32BE().toString(36).padStart(7, '0')}`;
}
