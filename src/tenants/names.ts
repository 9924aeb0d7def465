/**
 * Organization names and the keys derived from them.
 *
 * - The display name is trimmed and NFC-normalized, 1 to 100 characters, with
 *   no control, line-separator or bidirectional-override characters, and no
 *   invisible ones: default-ignorable, format (`Cf`), unassigned or
 *   private-use characters are refused, but for the joiners and selectors of
 *   emoji sequences and a ZWNJ/ZWJ between two letters of a script they shape
 *   (Arabic, Indic...). Its scripts must meet the Moderately Restrictive level
 *   of Unicode TS #39 (./scripts.ts): `Аcme` with a Cyrillic `А` is refused.
 * - The name key decides collisions: NFKC, upper case, the TS #39 confusable
 *   skeleton (./confusables.ts), lower case, the skeleton again, without the
 *   diacritics of Latin, Greek and Cyrillic letters, every run of characters
 *   that are not letters, marks or digits folded to one `_`, NFC. So case,
 *   punctuation, lookalikes and accents do not make a different name: `Acme
 *   Corp`, `acme-corp`, `Acrne Corp` and `Acmé Corp` share the key
 *   `acrne_corp` (`m` looks like `rn`); `Acme` and `АСМЕ` in Cyrillic letters
 *   share `acrne`.
 * - The storage key is the ASCII slug of the name (at most 40 characters,
 *   `[a-z0-9_]`), or `t_` and a hash when the name has no Latin letters or
 *   digits; a collision appends `_2` ... `_9`, then a random suffix, so every
 *   key is at most 48 characters and every physical name built on it fits
 *   MongoDB's and FerretDB's limits.
 */
import { createHash, randomBytes } from 'node:crypto';
import { TenancyError } from '../errors.js';
import { skeleton } from './confusables.js';
import { isModeratelyRestrictive } from './scripts.js';

/** The longest display name, in characters (Unicode code points). */
export const MAX_NAME_LENGTH = 100;
const MAX_SLUG_LENGTH = 40;
const FORBIDDEN = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069\uFEFF]/u;
const RESERVED_KEYS = new Set(['admin', 'local', 'config', 'system']);
/** Characters that show nothing, or nothing agreed: default-ignorable, format, unassigned, private use. */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Cn}\p{Co}]/u;
/** Emoji sequences, whose joiners and variation selectors are part of a visible emoji. */
// biome-ignore lint/complexity/useRegexLiterals: TypeScript's ES2022 target refuses the `v` flag of a literal.
const EMOJI_SEQUENCE = new RegExp('\\p{RGI_Emoji}', 'gv');
/** Latin, Greek, Cyrillic, Common and Inherited characters: ZWNJ and ZWJ change nothing on them. */
const UNSHAPED = String.raw`[\p{scx=Latn}\p{scx=Grek}\p{scx=Cyrl}\p{scx=Zyyy}\p{scx=Zinh}]`;
/** A ZWNJ or ZWJ between letters of a script whose shaping it changes (Arabic, Indic...). */
const SHAPING_JOINER = new RegExp(
  String.raw`(?<=(?!${UNSHAPED})[\p{L}\p{M}])[\u200C\u200D](?=(?!${UNSHAPED})[\p{L}\p{M}])`,
  'gu',
);
/** Combining marks on a Latin, Greek, Cyrillic or Common base: diacritics that do not make another name. */
const DIACRITICS = /([\p{scx=Latn}\p{scx=Grek}\p{scx=Cyrl}\p{sc=Zyyy}])\p{M}+/gu;
const SEPARATORS = /[^\p{L}\p{M}\p{N}]+/u;

/** A validated organization name and the keys derived from it. */
export interface ParsedName {
  /** The display name, trimmed and NFC-normalized. */
  readonly name: string;
  /** The collision key: two names with one name key cannot both exist (lookalikes share one). */
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
 * is empty or longer than 100 characters, holds control or invisible
 * characters, mixes scripts beyond TS #39's Moderately Restrictive level, or
 * has no letter or digit to derive a key from.
 */
export function parseName(input: unknown): ParsedName {
  if (typeof input !== 'string') throw invalid('The organization name must be a string');
  const name = input.normalize('NFC').trim();
  const length = [...name].length;
  if (length === 0) throw invalid('The organization name is empty');
  if (length > MAX_NAME_LENGTH) throw invalid(`The organization name is longer than ${MAX_NAME_LENGTH} characters`);
  if (FORBIDDEN.test(name)) throw invalid('The organization name contains control characters');
  if (INVISIBLE.test(name.replace(EMOJI_SEQUENCE, '').replace(SHAPING_JOINER, ''))) {
    throw invalid('The organization name contains invisible or unassigned characters');
  }
  if (!isModeratelyRestrictive(name)) throw invalid('The organization name mixes scripts');
  const words = toWords(name);
  const nameKey = toNameKey(name);
  if (words === '' || nameKey === '') throw invalid('The organization name needs at least one letter or digit');
  return { name, nameKey, slug: toSlug(words) };
}

/** The collision key: case-folded confusable skeleton, without diacritics, punctuation folded. */
function toNameKey(name: string): string {
  const confusable = skeleton(skeleton(name.normalize('NFKC').toUpperCase()).toLowerCase());
  return fold(confusable.replace(DIACRITICS, '$1')).normalize('NFC');
}

/** The name as lower-case words, the source of the slug. */
function toWords(name: string): string {
  return fold(name.normalize('NFKC').toLowerCase());
}

function fold(text: string): string {
  return text.split(SEPARATORS).filter(Boolean).join('_');
}

function toSlug(words: string): string {
  const ascii = words
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/_+$/, '');
  if (ascii !== '') return ascii;
  return `t_${createHash('sha256').update(words).digest('hex').slice(0, 12)}`;
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
