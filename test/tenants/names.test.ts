import { beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, isTenancyError, type Tenant } from '../../src/index.js';
import { skeleton } from '../../src/tenants/confusables.js';
import { parseName } from '../../src/tenants/names.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const newManager = managerFactory(client, dbName);

describe('parseName', () => {
  // The name key is a confusable skeleton: `m` is `rn`, `i` and `I` are `l`, diacritics of Latin letters are dropped.
  it.each([
    ['Acme Corp', 'acrne_corp', 'acme_corp'],
    ['  ACME   corp ', 'acrne_corp', 'acme_corp'],
    ['acme-corp', 'acrne_corp', 'acme_corp'],
    ['Société Générale', 'soclete_generale', 'societe_generale'],
    ['ｆｕｌｌ ｗｉｄｔｈ', 'full_wldth', 'full_width'],
    ['$where', 'where', 'where'],
    ['a.b', 'a_b', 'a_b'],
    ['system.users', 'systern_users', 'system_users'],
    ['../x', 'x', 'x'],
  ])('%j → name key %j, slug %j', (input, nameKey, slug) => {
    expect(parseName(input)).toMatchObject({ nameKey, slug });
  });

  it('keeps non-Latin names, with a hashed ASCII slug', () => {
    const parsed = parseName('株式会社');
    expect(parsed.nameKey).toBe('株式会社');
    expect(parsed.slug).toMatch(/^t_[0-9a-f]{12}$/);
  });

  it('treats NFC and NFD spellings as one name', () => {
    expect(parseName('Cafe\u0301').nameKey).toBe(parseName('Café').nameKey);
    expect(parseName('Cafe\u0301').name).toBe('Café');
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['NUL byte', 'ac\0me'],
    ['newline', 'ac\nme'],
    ['bidi override', 'acme\u202Eevil'],
    ['lone surrogate', 'acme\uD800'],
    ['101 characters', 'a'.repeat(101)],
    ['only punctuation', '!!!---...'],
    ['only emoji', '🚀🔥'],
    ['not a string', 42],
    ['an operator object', { $ne: null }],
    ['private use', 'acme\uE000'],
    ['unassigned', 'acme\u0378'],
    ['Latin with Cyrillic', 'Газпром Gas'],
    ['Latin with Greek', 'Acme Ωmega'],
    ['Greek with Cyrillic', 'Ελλάδα Россия'],
    ['Katakana with Hangul', 'ソニー 삼성'],
    ['Latin, Arabic and Hebrew', 'Acme أرامكو שלום'],
  ])('rejects %s with INVALID_NAME', (_label, input) => {
    expect(() => parseName(input)).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
  });

  it('accepts 100 characters and 300 bytes of Unicode with a bounded slug', () => {
    expect(parseName('a'.repeat(100)).slug).toHaveLength(40);
    const wide = parseName('日本'.repeat(50));
    expect(Buffer.byteLength(wide.name)).toBe(300);
    expect(wide.slug.length).toBeLessThanOrEqual(40);
  });
});

describe('lookalike names (Unicode TS #39)', () => {
  it.each([
    ['Greek Alpha', '\u0391cme', 'Acme'],
    ['Cyrillic letters', '\u0430\u0440\u0440\u04CF\u0435', 'apple'],
    ['r and n', 'rn', 'm'],
    ['zero', '0', 'O'],
    ['capital I, one and bar', 'Il1|', 'llll'],
    ['Cherokee A', '\u13AA', 'A'],
  ])('the skeleton maps %s to its prototype', (_label, lookalike, original) => {
    expect(skeleton(lookalike)).toBe(skeleton(original));
  });

  it('keeps different letters and diacritics apart in the skeleton', () => {
    expect(skeleton('a')).not.toBe(skeleton('o'));
    expect(skeleton('é')).not.toBe(skeleton('e'));
  });

  it.each([
    ['upper case', 'ACME X'],
    ['r and n for m', 'Acrne x'],
    ['Cyrillic capitals', '\u0410\u0421\u041C\u0415 \u0425'],
    ['Cyrillic small letters', '\u0430\u0441\u043C\u0435 \u0445'],
    ['a precomposed x with dot above', 'Acme \u1E8B'],
    ['a combining dot above', 'Acme x\u0307'],
    ['an acute accent', 'Acmé x'],
  ])('gives %s the name key of "Acme x"', (_label, lookalike) => {
    expect(parseName(lookalike).nameKey).toBe(parseName('Acme x').nameKey);
  });

  it('gives a Greek name the key of its Latin lookalike, and keeps different names apart', () => {
    expect(parseName('\u03A4\u0391\u039A\u039F').nameKey).toBe(parseName('Tako').nameKey);
    expect(parseName('Acme y').nameKey).not.toBe(parseName('Acme x').nameKey);
    expect(parseName('Acme Corp').nameKey).not.toBe(parseName('Acme Co').nameKey);
  });

  const ordinary: Array<[string, string]> = [
    ['in Japanese', 'トヨタ自動車株式会社'],
    ['in Greek', 'Ελληνικά Πετρέλαια'],
    ['in Cyrillic', 'Газпром нефть'],
    ['in Arabic', 'شركة الاتصالات السعودية'],
    ['in Hebrew', 'בנק לאומי'],
    ['in Devanagari', 'हिन्दी कंपनी'],
    ['in Latin with accents', 'Crème Brûlée Ça Va'],
    ['in Latin, Han, Hiragana and Katakana', 'Sony ソニー株式会社 ひらがな'],
    ['in Latin and Hangul', '삼성전자 Samsung'],
    ['in Latin and Arabic', 'Aramco أرامكو'],
    ['with emoji sequences', 'Acme ❤️ 👨‍👩‍👧'],
    ['with a Persian ZWNJ', 'فن\u200Cآوران'],
  ];

  it.each(ordinary)('accepts a name %s', (_label, name) => {
    expect(parseName(name).name).toBe(name);
  });

  it('creates each of those names as its own organization', async () => {
    const tenants = newManager();
    for (const [, name] of ordinary) expect((await tenants.create({ name })).name).toBe(name);
    expect((await tenants.list()).tenants).toHaveLength(ordinary.length);
    await assertInvariants(client, tenants, { tenants: ordinary.length });
  });

  it('gives a name with a shaping ZWNJ the key of the same name without it', () => {
    expect(parseName('فن\u200Cآوران').nameKey).toBe(parseName('فنآوران').nameKey);
  });

  describe('after "Acme x" exists', () => {
    const tenants = newManager();
    beforeAll(async () => {
      await tenants.create({ name: 'Acme x' });
    });

    it.each<[string, string, ErrorCode]>([
      ['a zero-width space', 'Ac\u200Bme x', 'INVALID_NAME'],
      ['a zero-width joiner', 'Ac\u200Dme x', 'INVALID_NAME'],
      ['a zero-width non-joiner', 'Ac\u200Cme x', 'INVALID_NAME'],
      ['a soft hyphen', 'Ac\u00ADme x', 'INVALID_NAME'],
      ['a word joiner', 'Ac\u2060me x', 'INVALID_NAME'],
      ['a left-to-right mark', 'Ac\u200Eme x', 'INVALID_NAME'],
      ['a right-to-left mark', 'Ac\u200Fme x', 'INVALID_NAME'],
      ['an Arabic letter mark', 'Ac\u061Cme x', 'INVALID_NAME'],
      ['a combining grapheme joiner', 'Ac\u034Fme x', 'INVALID_NAME'],
      ['a variation selector 16', 'Ac\uFE0Fme x', 'INVALID_NAME'],
      ['a variation selector 1', 'Acme x\uFE00', 'INVALID_NAME'],
      ['a trailing Hangul filler', 'Acme x\u3164', 'INVALID_NAME'],
      ['a combining dot above', 'Acme x\u0307', 'TENANT_EXISTS'],
      ['a Cyrillic A', '\u0410cme x', 'INVALID_NAME'],
      ['a Greek Alpha', '\u0391cme x', 'INVALID_NAME'],
      ['all Cyrillic lookalikes', '\u0410\u0421\u041C\u0415 \u0425', 'TENANT_EXISTS'],
      ['r and n for m', 'Acrne x', 'TENANT_EXISTS'],
    ])('refuses it with %s, and creates nothing', async (_label, name, code) => {
      await expect(tenants.create({ name })).rejects.toMatchObject({ code });
      expect((await tenants.list()).tenants.map((t) => t.name)).toEqual(['Acme x']);
      await assertInvariants(client, tenants, { tenants: 1 });
    });
  });
});

describe('hostile names against the database', () => {
  it('each is rejected and creates nothing, or accepted with a safe key', async () => {
    const tenants = newManager();
    const cases: Array<[unknown, 'accepted' | ErrorCode]> = [
      ['$where', 'accepted'],
      ['a.b', 'accepted'],
      ['system.users', 'accepted'],
      ['admin', 'accepted'],
      ['local', 'accepted'],
      ['config', 'accepted'],
      ['../x', 'accepted'],
      ['ac\0me', 'INVALID_NAME'],
      ['x'.repeat(101), 'INVALID_NAME'],
      ['語'.repeat(100), 'accepted'],
      ['!!!', 'INVALID_NAME'],
      ['🚀🔥', 'INVALID_NAME'],
      ['Acme Corp', 'accepted'],
      ['ACME CORP', 'TENANT_EXISTS'],
      ['acme.corp', 'TENANT_EXISTS'],
      ['acme_corp', 'TENANT_EXISTS'],
      [{ $gt: '' }, 'INVALID_NAME'],
      [['a'], 'INVALID_NAME'],
    ];
    const created: Tenant[] = [];
    for (const [name, expected] of cases) {
      const outcome = await tenants.create({ name: name as string }).then(
        (t) => created.push(t) && 'accepted',
        (e: unknown) => (isTenancyError(e) ? e.code : 'raw error'),
      );
      expect(outcome, JSON.stringify(name)).toBe(expected);
    }
    for (const t of created) {
      expect(t.key).toMatch(/^[a-z0-9_]{1,48}$/);
      expect(['admin', 'local', 'config', 'system']).not.toContain(t.key);
      expect(t.storage.collection).toBe(`org_${t.key}`);
    }
    expect(created.find((t) => t.name === 'admin')?.key).toBe('admin_2');
    const collections = (await client.db(tenants.master.databaseName).listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((n) => n.startsWith('org_'))
      .sort();
    expect(collections).toEqual(created.map((t) => t.storage.collection).sort());
    await assertInvariants(client, tenants, { tenants: created.length });
  });

  it('rejects metadata that is not plain, small, safe JSON', async () => {
    const tenants = newManager();
    for (const metadata of [
      { $set: 1 },
      { 'a.b': 1 },
      { nested: { $where: 'x' } },
      { big: 'x'.repeat(20_000) },
      { when: new Date() },
      [],
      'plan',
    ]) {
      await expect(tenants.create({ name: 'Meta', metadata: metadata as never })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        details: { field: 'metadata' },
      });
    }
    await expect(tenants.create({ name: 'Meta', extra: 1 } as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect((await tenants.list()).tenants).toHaveLength(0);
    await assertInvariants(client, tenants, { tenants: 0 });
  });

  it('frees a name when its tenant is dropped', async () => {
    const tenants = newManager();
    const first = await tenants.create({ name: 'Phoenix' });
    await tenants.drop(first);
    expect((await tenants.create({ name: 'PHOENIX' })).name).toBe('PHOENIX');
  });
});
