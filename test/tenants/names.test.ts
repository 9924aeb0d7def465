import { describe, expect, it } from 'vitest';
import { type ErrorCode, isTenancyError, type Tenant } from '../../src/index.js';
import { parseName } from '../../src/tenants/names.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const newManager = managerFactory(client, dbName);

describe('parseName', () => {
  it.each([
    ['Acme Corp', 'acme_corp', 'acme_corp'],
    ['  ACME   corp ', 'acme_corp', 'acme_corp'],
    ['acme-corp', 'acme_corp', 'acme_corp'],
    ['Société Générale', 'société_générale', 'societe_generale'],
    ['ｆｕｌｌ ｗｉｄｔｈ', 'full_width', 'full_width'],
    ['$where', 'where', 'where'],
    ['a.b', 'a_b', 'a_b'],
    ['system.users', 'system_users', 'system_users'],
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
