#!/usr/bin/env node
/**
 * Generates src/tenants/unicode-security-data.ts, the Unicode security data the
 * name rules use (src/tenants/confusables.ts, src/tenants/scripts.ts):
 *
 * - the confusable prototypes of Unicode TS #39 (`confusables.txt`), from the
 *   `CONFUSABLES` table of the `unicode-security` crate (unicode-rs), which
 *   its own `scripts/unicode.py` generates from unicode.org's confusables.txt;
 * - the ISO 15924 codes of every script, and the Recommended scripts of
 *   UAX #31 Table 5, from the `unicode-script` crate (unicode-rs).
 *
 * The crates come from crates.io through cargo (pinned below; cargo checks
 * their checksums), because unicode.org cannot be reached from every machine
 * this project is built on and no npm package ships current confusables data.
 * Run it only to move to a newer version: `node scripts/generate-unicode-security.mjs`
 * (needs cargo), then review the diff and run the name tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SECURITY = { name: 'unicode-security', version: '0.1.3' };
const SCRIPT = { name: 'unicode-script', version: '0.5.9' };
const OUTPUT = fileURLToPath(new URL('../src/tenants/unicode-security-data.ts', import.meta.url));
const LINE = 100;

function fail(message) {
  throw new Error(`generate-unicode-security: ${message}`);
}

/** Fetches the pinned crates into cargo's cache; returns each crate's directory and checksum. */
function fetchCrates() {
  const dir = mkdtempSync(join(tmpdir(), 'unicode-security-'));
  try {
    writeFileSync(
      join(dir, 'Cargo.toml'),
      [
        '[package]',
        'name = "fetch-unicode-security"',
        'version = "0.0.0"',
        'edition = "2021"',
        'publish = false',
        '[lib]',
        'path = "lib.rs"',
        '[dependencies]',
        ...[SECURITY, SCRIPT].map((c) => `${c.name} = "=${c.version}"`),
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'lib.rs'), '');
    execFileSync('cargo', ['fetch', '--quiet'], { cwd: dir, stdio: 'inherit' });
    const metadata = JSON.parse(
      execFileSync('cargo', ['metadata', '--format-version', '1', '--quiet'], { cwd: dir, maxBuffer: 1 << 26 }),
    );
    const lock = readFileSync(join(dir, 'Cargo.lock'), 'utf8');
    const found = {};
    for (const crate of [SECURITY, SCRIPT]) {
      const pkg = metadata.packages.find((p) => p.name === crate.name && p.version === crate.version);
      if (!pkg) fail(`cargo did not fetch ${crate.name} ${crate.version}`);
      const entry = lock.match(
        new RegExp(
          `name = "${crate.name}"\\nversion = "${crate.version}"\\nsource = "[^"]+"\\nchecksum = "([0-9a-f]+)"`,
        ),
      );
      found[crate.name] = {
        dir: dirname(pkg.manifest_path),
        checksum: entry?.[1] ?? fail(`no checksum for ${crate.name}`),
      };
    }
    return found;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hexes = (text) => [...text.matchAll(/\\u\{([0-9a-f]+)\}/g)].map((m) => Number.parseInt(m[1], 16));

function unicodeVersion(tables) {
  const m = tables.match(/pub const UNICODE_VERSION: \(u64, u64, u64\) = \((\d+), (\d+), (\d+)\);/);
  return m ? `${m[1]}.${m[2]}.${m[3]}` : fail('no UNICODE_VERSION');
}

/** The `CONFUSABLES` table of unicode-security: [source, prototype code points][]. */
function readConfusables(tables) {
  const start = tables.indexOf("const CONFUSABLES: &'static [(char, &'static [char])] = &[");
  if (start < 0) fail('no CONFUSABLES table in unicode-security');
  const body = tables.slice(start, tables.indexOf('];', start));
  const rows = [...body.matchAll(/\('(\\u\{[0-9a-f]+\})',\s*&\[([^\]]*)\]\)/g)].map((m) => [
    hexes(m[1])[0],
    hexes(m[2]),
  ]);
  const map = new Map(rows);
  if (rows.length < 6000 || map.size !== rows.length) fail(`unexpected CONFUSABLES table (${rows.length} rows)`);
  // Spot checks against confusables.txt, and the idempotence the skeleton relies on.
  const expect = [
    [0x0430, [0x61]],
    [0x0391, [0x41]],
    [0x6d, [0x72, 0x6e]],
    [0x49, [0x6c]],
  ];
  for (const [from, to] of expect) if (map.get(from)?.join() !== to.join()) fail(`U+${from.toString(16)} maps wrongly`);
  for (const [from, to] of rows) if (to.some((c) => map.has(c))) fail(`prototype of U+${from.toString(16)} is mapped`);
  return rows.sort((a, b) => a[0] - b[0]);
}

/** ISO 15924 codes of unicode-script's `Script` enum, and those UAX #31 Table 5 recommends. */
function readScripts(tables, lib) {
  const body = tables.slice(
    tables.indexOf('pub enum Script {'),
    tables.indexOf('\n}', tables.indexOf('pub enum Script {')),
  );
  const byName = new Map([...body.matchAll(/\/\/\/ ([A-Z][a-z]{3}),?\n\s+(\w+) = /g)].map((m) => [m[2], m[1]]));
  const codes = [...byName.values()].filter((c) => !['Zyyy', 'Zinh', 'Zzzz'].includes(c)).sort();
  if (codes.length < 150 || !codes.includes('Latn') || !codes.includes('Hani')) fail('unexpected Script enum');
  const match = lib.match(/fn is_recommended\(self\) -> bool \{[^{]*match self \{([^}]*?)=> true/);
  const names = match?.[1].split('|').map((s) => s.trim()) ?? fail('no is_recommended in unicode-script');
  const recommended = names
    .filter((n) => n !== 'Common' && n !== 'Inherited')
    .map((n) => byName.get(n) ?? fail(`unknown script ${n}`))
    .sort();
  if (recommended.length < 25 || !recommended.includes('Latn')) fail('unexpected Recommended scripts');
  return { codes, recommended };
}

/** Splits items joined by `sep` into string literal lines of at most LINE characters. */
function lines(items, sep) {
  const out = [];
  let line = '';
  for (const item of items) {
    if (line && line.length + sep.length + item.length > LINE) {
      out.push(line + sep);
      line = item;
    } else line = line ? line + sep + item : item;
  }
  if (line) out.push(line);
  return out.map((l) => `  '${l}',`).join('\n');
}

const crates = fetchCrates();
const securityTables = readFileSync(join(crates[SECURITY.name].dir, 'src/tables.rs'), 'utf8');
const scriptTables = readFileSync(join(crates[SCRIPT.name].dir, 'src/tables.rs'), 'utf8');
const scriptLib = readFileSync(join(crates[SCRIPT.name].dir, 'src/lib.rs'), 'utf8');
const version = unicodeVersion(securityTables);
if (unicodeVersion(scriptTables) !== version) fail('the two crates are on different Unicode versions');
const confusables = readConfusables(securityTables);
const { codes, recommended } = readScripts(scriptTables, scriptLib);
const hex = (c) => c.toString(16);
const quoted = (list) => list.map((c) => `'${c}'`).join(', ');

writeFileSync(
  OUTPUT,
  `/**
 * Unicode security data for the name rules. GENERATED: do not edit; run
 * \`node scripts/generate-unicode-security.mjs\` to move to a newer version.
 *
 * Source: crates.io \`${SECURITY.name}\` ${SECURITY.version} (sha256 ${crates[SECURITY.name].checksum})
 * and \`${SCRIPT.name}\` ${SCRIPT.version} (sha256 ${crates[SCRIPT.name].checksum}),
 * both from unicode-rs, generated by them from the Unicode ${version} data files.
 *
 * @internal
 * @packageDocumentation
 */

/** The Unicode version of this data. */
export const UNICODE_SECURITY_VERSION = '${version}';

/**
 * The confusable prototypes of Unicode TS #39 (confusables.txt): \`;\`-separated
 * entries \`source>prototype\`, code points in hex, a prototype's code points
 * separated by \`,\`. Split into lines only to keep the file readable.
 */
export const CONFUSABLES: readonly string[] = [
${lines(
  confusables.map(([from, to]) => `${hex(from)}>${to.map(hex).join(',')}`),
  ';',
)}
];

/** The ISO 15924 codes of every script but Common, Inherited and Unknown. */
export const SCRIPT_CODES: readonly string[] = [${quoted(codes)}];

/** The Recommended scripts of UAX #31 Table 5, but Common and Inherited. */
export const RECOMMENDED_SCRIPTS: readonly string[] = [${quoted(recommended)}];
`,
);
// Format as the project does, so that `biome check` passes on the generated file.
execFileSync('npx', ['biome', 'format', '--write', OUTPUT], { stdio: 'inherit' });
console.log(`wrote ${OUTPUT}: ${confusables.length} confusables, ${codes.length} scripts, Unicode ${version}`);
