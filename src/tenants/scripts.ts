/**
 * Mixed-script detection (Unicode TS #39 section 5.1) and the Moderately
 * Restrictive level of section 5.2, on the Script_Extensions property that
 * JavaScript regular expressions carry (`\p{scx=...}`), and the script lists
 * generated into ./unicode-security-data.ts.
 *
 * @internal
 * @packageDocumentation
 */
import { RECOMMENDED_SCRIPTS, SCRIPT_CODES } from './unicode-security-data.js';

/** Characters of every script: Script_Extensions is Common or Inherited. */
const ANY_SCRIPT = /^[\p{scx=Zyyy}\p{scx=Zinh}]$/u;
const ASCII = /^[\0-\x7f]*$/;
/** Scripts Latin may be mixed with under Moderately Restrictive: Recommended, not Cyrillic or Greek. */
const LATIN_PARTNERS = new Set(RECOMMENDED_SCRIPTS.filter((code) => code !== 'Cyrl' && code !== 'Grek'));
const CACHE_LIMIT = 4096;
const cache = new Map<number, ReadonlySet<string> | null>();
let matchers: ReadonlyArray<readonly [string, RegExp]> | undefined;

function scriptMatchers(): ReadonlyArray<readonly [string, RegExp]> {
  matchers ??= SCRIPT_CODES.flatMap((code) => {
    try {
      return [[code, new RegExp(`^\\p{scx=${code}}$`, 'u')] as const];
    } catch {
      return []; // a script newer than this runtime's Unicode: none of its characters is assigned here
    }
  });
  return matchers;
}

/**
 * The augmented script set of a character (section 5.1): its Script_Extensions,
 * with Han adding Hanb, Jpan and Kore; Hiragana and Katakana, Jpan; Hangul,
 * Kore; Bopomofo, Hanb. `null` stands for every script.
 */
export function augmentedScripts(char: string): ReadonlySet<string> | null {
  const codePoint = char.codePointAt(0) ?? 0;
  const cached = cache.get(codePoint);
  if (cached !== undefined) return cached;
  let set: Set<string> | null = null;
  if (!ANY_SCRIPT.test(char)) {
    set = new Set(scriptMatchers().flatMap(([code, re]) => (re.test(char) ? [code] : [])));
    if (set.has('Hani')) set.add('Hanb').add('Jpan').add('Kore');
    if (set.has('Hira') || set.has('Kana')) set.add('Jpan');
    if (set.has('Hang')) set.add('Kore');
    if (set.has('Bopo')) set.add('Hanb');
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(codePoint, set);
  return set;
}

function intersect(a: ReadonlySet<string> | null, b: ReadonlySet<string>): ReadonlySet<string> {
  return a === null ? b : new Set([...a].filter((code) => b.has(code)));
}

/**
 * Whether a string meets the Moderately Restrictive level of TS #39
 * section 5.2, by its scripts: it is single-script (its augmented script sets
 * intersect), or Latin with Han and Hiragana/Katakana, Han and Bopomofo, or
 * Han and Hangul, or Latin with one other Recommended script but Cyrillic and
 * Greek. Characters of every script (spaces, digits, punctuation, combining
 * marks) fit any. `Acme` in Latin with a Cyrillic `А` does not qualify.
 */
export function isModeratelyRestrictive(text: string): boolean {
  if (ASCII.test(text)) return true;
  let resolved: ReadonlySet<string> | null = null;
  let withoutLatin: ReadonlySet<string> | null = null;
  for (const char of new Set(text)) {
    const scripts = augmentedScripts(char);
    if (scripts === null) continue;
    resolved = intersect(resolved, scripts);
    if (!scripts.has('Latn')) withoutLatin = intersect(withoutLatin, scripts);
  }
  if (resolved === null || resolved.size > 0 || withoutLatin === null) return true;
  if (withoutLatin.has('Jpan') || withoutLatin.has('Hanb') || withoutLatin.has('Kore')) return true;
  return [...withoutLatin].some((code) => LATIN_PARTNERS.has(code));
}
