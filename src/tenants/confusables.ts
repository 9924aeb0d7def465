/**
 * The confusable skeleton of Unicode TS #39 (section 4), on the prototypes of
 * confusables.txt (generated into ./unicode-security-data.ts). Two strings
 * with one skeleton are confusable: `skeleton('Αcme') === skeleton('Acme')`.
 *
 * @internal
 * @packageDocumentation
 */
import { CONFUSABLES } from './unicode-security-data.js';

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
let prototypes: ReadonlyMap<number, string> | undefined;

/** The prototype of each mapped code point, decoded on first use. */
function prototypeTable(): ReadonlyMap<number, string> {
  if (prototypes) return prototypes;
  const table = new Map<number, string>();
  for (const entry of CONFUSABLES.join('').split(';')) {
    const [from = '', to = ''] = entry.split('>');
    table.set(Number.parseInt(from, 16), String.fromCodePoint(...to.split(',').map((hex) => Number.parseInt(hex, 16))));
  }
  prototypes = table;
  return table;
}

/**
 * The skeleton of a string (TS #39 section 4): NFD, without default-ignorable
 * code points, each code point replaced by its prototype, NFD again. Case
 * matters (`I` maps to `l`, `i` to itself); callers fold case themselves.
 */
export function skeleton(text: string): string {
  const table = prototypeTable();
  let out = '';
  for (const char of text.normalize('NFD').replace(IGNORABLE, '')) {
    out += table.get(char.codePointAt(0) ?? 0) ?? char;
  }
  return out.normalize('NFD');
}
