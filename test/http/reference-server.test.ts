/**
 * The original service's flow end to end, over real HTTP, against both the Express and the Koa server: the routes
 * whose answers depend on the storage under each TENANT_LAYOUT, the rest under the default one.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { OrgMetadata, ProblemBody } from '../../examples/reference-server/schemas.js';
import { listen, routeContext } from '../../examples/reference-server/server.js';
import {
  AuthService,
  bcryptHasher,
  collectionPerTenant,
  type StepEvent,
  type StorageKind,
  type Tenant,
  TenantLookups,
  TenantManager,
} from '../../src/index.js';
import { strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';
import { gate } from '../support/gate.js';
import { call, startReference } from '../support/reference-server.js';

const { client, dbName, dbPrefix } = useTestClient();
const PASSWORD = 'correct horse battery';

const FRAMEWORKS = ['express', 'koa'] as const;
const LAYOUTS = ['collection', 'database', 'shared'] as const satisfies readonly StorageKind[];
const METADATA_FIELDS = Object.keys(OrgMetadata.shape).sort();
type Metadata = z.infer<typeof OrgMetadata>;
type Request = (method: string, path: string, options?: Parameters<typeof call>[3]) => ReturnType<typeof call>;

/**
 * The routes whose answers depend on where the data lives, under each TENANT_LAYOUT: the same response shape, the
 * storage each layout shows, and data kept by a rename and removed by a delete, read from where the response says.
 */
describe.each(LAYOUTS.flatMap((layout) => FRAMEWORKS.map((framework) => ({ framework, layout }))))(
  'reference server on $framework, TENANT_LAYOUT=$layout',
  ({ framework, layout }) => {
    let server: Awaited<ReturnType<typeof startReference>>;
    let master: string;
    let prefix: string | undefined;
    beforeAll(async () => {
      master = dbName(`${framework}-${layout}`);
      prefix = layout === 'database' ? dbPrefix() : undefined;
      server = await startReference(framework, client, master, {}, { tenantLayout: layout, tenantDbPrefix: prefix });
    });
    afterAll(() => server.close());
    const req = (method: string, path: string, options?: Parameters<typeof call>[3]) =>
      call(server.url, method, path, options);
    const create = (name: string, email: string, password = PASSWORD) =>
      req('POST', '/org/create', { body: { organization_name: name, email, password } });
    const login = async (email: string, password = PASSWORD) =>
      (await req('POST', '/admin/login', { body: { email, password } })).body.access_token as string;

    /** What a response shows of an organization's storage under this layout, for its storage key. */
    const storageOf = (
      key: string,
    ): Pick<Metadata, 'storage_layout' | 'database_name' | 'collection_name' | 'tenant_field'> =>
      ({
        collection: {
          storage_layout: layout,
          database_name: master,
          collection_name: `org_${key}`,
          tenant_field: null,
        },
        database: {
          storage_layout: layout,
          database_name: `${prefix}${key}`,
          collection_name: 'default',
          tenant_field: null,
        },
        shared: { storage_layout: layout, database_name: master, collection_name: 'shared', tenant_field: 'tenantId' },
      })[layout];

    /** The organization's documents, counted with the driver alone, where its metadata says they are. */
    const documentsAt = (metadata: Metadata) =>
      client
        .db(metadata.database_name)
        .collection(metadata.collection_name)
        .countDocuments({
          n: { $exists: true },
          ...(metadata.tenant_field === null ? {} : { [metadata.tenant_field]: metadata.organization_id }),
        });

    /** The response is exactly the documented metadata: every field, nothing else, as /openapi.json says. */
    async function expectMetadata(response: Awaited<ReturnType<typeof call>>, status: number): Promise<Metadata> {
      expect(response.status).toBe(status);
      expect(Object.keys(response.body).sort()).toEqual(METADATA_FIELDS);
      const schema = (await req('GET', '/openapi.json')).body.paths['/org/get'].get.responses['200'].content[
        'application/json'
      ].schema;
      expect(Object.keys(schema.properties).sort()).toEqual(METADATA_FIELDS);
      expect(schema.properties.storage_layout.enum).toContain(response.body.storage_layout);
      return OrgMetadata.strict().parse(response.body);
    }

    it('create, get, login, update with a rename, delete: one response shape, its storage true to the data', async () => {
      const created = await expectMetadata(await create('Acme Corp', 'Ada@Acme.test'), 201);
      expect(created).toMatchObject({
        organization_name: 'Acme Corp',
        admin_email: 'ada@acme.test',
        ...storageOf('acme_corp'),
      });
      expect(Date.parse(created.created_at)).not.toBeNaN();
      expect((await create('ACME corp', 'other@acme.test')).body.code).toBe('TENANT_EXISTS');
      const got = await expectMetadata(await req('GET', '/org/get?organization_name=Acme%20Corp'), 200);
      expect(got).toEqual({ ...created, admin_email: null });
      expect((await req('GET', '/org/get?organization_name=Nobody')).body.code).toBe('TENANT_NOT_FOUND');

      const signIn = await req('POST', '/admin/login', { body: { email: 'ada@acme.test', password: PASSWORD } });
      expect(signIn.status).toBe(200);
      expect(Object.keys(signIn.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(signIn.body).toMatchObject({ token_type: 'bearer' });
      expect(signIn.body.expires_in).toBeGreaterThan(1_700);
      const token = signIn.body.access_token as string;

      // The application writes to each organization's default collection; the server's answer says where that is.
      const acme = await server.tenants.get(created.organization_id);
      await server.tenants
        .scope(acme as Tenant)
        .collection()
        .insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(await documentsAt(created)).toBe(3);
      const globex = await expectMetadata(await create('Globex', 'hank@globex.test'), 201);
      await server.tenants
        .scope((await server.tenants.get(globex.organization_id)) as Tenant)
        .collection()
        .insertOne({ n: 4 });
      expect(await documentsAt(globex)).toBe(1);
      expect(await documentsAt(created)).toBe(3);

      // Only the collection layout moves the storage with the name; every layout keeps the data.
      const updated = await expectMetadata(
        await req('PUT', '/org/update', { token, body: { organization_name: 'Acme Industries' } }),
        200,
      );
      expect(updated).toMatchObject({
        organization_id: created.organization_id,
        organization_name: 'Acme Industries',
        admin_email: 'ada@acme.test',
        ...storageOf(layout === 'collection' ? 'acme_industries' : 'acme_corp'),
      });
      expect(await documentsAt(updated)).toBe(3);
      const renamed = await server.tenants.get(created.organization_id);
      expect(
        await server.tenants
          .scope(renamed as Tenant)
          .collection()
          .countDocuments(),
      ).toBe(3);
      expect(await expectMetadata(await req('GET', '/org/get?organization_name=Acme%20Industries'), 200)).toEqual({
        ...updated,
        admin_email: null,
      });
      expect((await req('GET', '/org/get?organization_name=Acme%20Corp')).body.code).toBe('TENANT_NOT_FOUND');

      const changed = await expectMetadata(
        await req('PUT', '/org/update', {
          token,
          body: { organization_name: 'Acme Industries', email: 'ada@industries.test', password: 'a new passphrase' },
        }),
        200,
      );
      expect(changed).toEqual({ ...updated, admin_email: 'ada@industries.test', updated_at: expect.any(String) });
      expect((await req('PUT', '/org/update', { token, body: { organization_name: 'X' } })).body.code).toBe(
        'TOKEN_REVOKED',
      );
      const fresh = await login('ada@industries.test', 'a new passphrase');

      const other = await login('hank@globex.test');
      const forbidden = await req('DELETE', '/org/delete', {
        token: other,
        body: { organization_name: 'Acme Industries' },
      });
      expect(forbidden.body.code).toBe('FORBIDDEN');
      expect((await req('DELETE', '/org/delete?organization_name=Nowhere', { token: other })).body.code).toBe(
        'TENANT_NOT_FOUND',
      );
      expect((await req('PUT', '/org/update', { token: fresh, body: { organization_name: 'Globex' } })).body.code).toBe(
        'TENANT_EXISTS',
      );

      const deleted = await req('DELETE', '/org/delete?organization_name=Acme%20Industries', { token: fresh });
      expect(deleted.status).toBe(200);
      expect(Object.keys(deleted.body)).toEqual(['detail']);
      expect((await req('GET', '/org/get?organization_name=Acme%20Industries')).body.code).toBe('TENANT_NOT_FOUND');
      expect(await documentsAt(updated)).toBe(0);
      expect(await documentsAt(globex)).toBe(1); // the other organization's data is untouched
      const after = await req('PUT', '/org/update', { token: fresh, body: { organization_name: 'Back' } });
      expect(after.status).toBe(401);
      expect(after.body.code).toBe('TOKEN_REVOKED');
    });

    it('PUT /org/update is all or nothing: a 409 leaves name, storage, email and password as they were', async () => {
      const stay = await expectMetadata(await create('Stay Put', 'stay@put.test'), 201);
      await create('Holder Org', 'holder@put.test');
      const token = await login('stay@put.test');
      const tenant = await server.tenants.get(stay.organization_id);
      if (!tenant) throw new Error('not created');
      await server.tenants
        .scope(tenant)
        .collection()
        .insertMany([{ n: 1 }, { n: 2 }]);
      for (const [body, code] of [
        [{ organization_name: 'Moved Away', email: 'holder@put.test', password: 'another passphrase' }, 'EMAIL_TAKEN'],
        [{ organization_name: 'Holder Org', email: 'stay@new.test', password: 'another passphrase' }, 'TENANT_EXISTS'],
      ] as const) {
        const refused = await req('PUT', '/org/update', { token, body });
        expect(refused.status).toBe(409);
        expect(refused.body.code).toBe(code);
        const after = await server.tenants.get(tenant.id);
        expect(after).toMatchObject({ name: 'Stay Put', storage: tenant.storage, status: 'active' });
        expect(await expectMetadata(await req('GET', '/org/get?organization_name=Stay%20Put'), 200)).toEqual({
          ...stay,
          admin_email: null,
        });
        expect(await documentsAt(stay)).toBe(2);
      }
      expect((await req('GET', '/org/get?organization_name=Moved%20Away')).body.code).toBe('TENANT_NOT_FOUND');
      const moved = await req('POST', '/admin/login', {
        body: { email: 'stay@new.test', password: 'another passphrase' },
      });
      expect(moved.body.code).toBe('INVALID_CREDENTIALS');
      expect((await req('POST', '/admin/login', { body: { email: 'stay@put.test', password: PASSWORD } })).status).toBe(
        200,
      );
      // Nothing was revoked either.
      expect((await req('PUT', '/org/update', { token, body: { organization_name: 'Stay Put' } })).status).toBe(200);
    });
  },
);

describe('TENANT_LAYOUT changed between two starts on one master database', () => {
  it('serves each organization in the layout it was created with; the original’s keep its rename rule', async () => {
    const master = dbName('restart');
    const tenantDbPrefix = dbPrefix();
    /** Starts a server with this TENANT_LAYOUT, lets `body` call it, and stops it. */
    async function run(tenantLayout: StorageKind, body: (req: Request) => Promise<void>) {
      const layout = { tenantLayout, ...(tenantLayout === 'database' ? { tenantDbPrefix } : {}) };
      const server = await startReference('express', client, master, {}, layout);
      try {
        await body((method, path, options) => call(server.url, method, path, options));
      } finally {
        await server.close();
      }
    }
    const signup = (name: string, email: string) => ({ body: { organization_name: name, email, password: PASSWORD } });
    await run('collection', async (req) => {
      expect((await req('POST', '/org/create', signup('Old Org', 'old@restart.test'))).body.storage_layout).toBe(
        'collection',
      );
    });
    await run('shared', async (req) => {
      expect((await req('POST', '/org/create', signup('New Org', 'new@restart.test'))).body.storage_layout).toBe(
        'shared',
      );
      const token = (await req('POST', '/admin/login', { body: { email: 'old@restart.test', password: PASSWORD } }))
        .body.access_token as string;
      const renamed = await req('PUT', '/org/update', { token, body: { organization_name: 'Older Org' } });
      expect(renamed.body).toMatchObject({ storage_layout: 'collection', collection_name: 'org_older_org' });
    });
    await run('database', async (req) => {
      expect((await req('POST', '/org/create', signup('Big Org', 'big@restart.test'))).body).toMatchObject({
        storage_layout: 'database',
        database_name: `${tenantDbPrefix}big_org`,
      });
      for (const [name, storage_layout] of [
        ['Older%20Org', 'collection'],
        ['New%20Org', 'shared'],
      ]) {
        const got = await req('GET', `/org/get?organization_name=${name}`);
        expect(got.body.storage_layout).toBe(storage_layout);
      }
    });
  });
});

describe.each(FRAMEWORKS)('reference server on %s', (framework) => {
  let server: Awaited<ReturnType<typeof startReference>>;
  beforeAll(async () => {
    server = await startReference(framework, client, dbName(framework));
  });
  afterAll(() => server.close());
  const req = (method: string, path: string, options?: Parameters<typeof call>[3]) =>
    call(server.url, method, path, options);
  const create = (name: string, email: string, password = PASSWORD) =>
    req('POST', '/org/create', { body: { organization_name: name, email, password } });
  const login = async (email: string, password = PASSWORD) =>
    (await req('POST', '/admin/login', { body: { email, password } })).body.access_token as string;

  it('answers 401 without a token, 429 with Retry-After when locked out', async () => {
    expect((await req('PUT', '/org/update', { body: { organization_name: 'X' } })).status).toBe(401);
    const noBearer = await req('DELETE', '/org/delete', {
      headers: { authorization: 'Basic abc' },
      body: { organization_name: 'X' },
    });
    expect(noBearer.status).toBe(401);
    expect(noBearer.headers.get('www-authenticate')).toContain('Bearer');
    // Its own server: the lock also covers the client key (127.0.0.1 here), which other tests share.
    const own = await startReference(framework, client, dbName(`${framework}-lock`));
    try {
      const ownReq = (method: string, path: string, options?: Parameters<typeof call>[3]) =>
        call(own.url, method, path, options);
      await ownReq('POST', '/org/create', {
        body: { organization_name: 'Locked Org', email: 'locked@x.test', password: PASSWORD },
      });
      for (let i = 0; i < 5; i++) {
        expect(
          (await ownReq('POST', '/admin/login', { body: { email: 'locked@x.test', password: 'wrong password' } }))
            .status,
        ).toBe(401);
      }
      const locked = await ownReq('POST', '/admin/login', { body: { email: 'locked@x.test', password: PASSWORD } });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(locked.headers.get('content-type')).toContain('application/problem+json');
      expect(locked.body).toMatchObject({ status: 429, code: 'LOCKED', detail: expect.any(String) });
    } finally {
      await own.close();
    }
  });

  it("GET /org/get finds by name only, and shows the admin's email only with a token of that organization", async () => {
    const owner = await create('Email Owner', 'owner@email.test');
    await create('Email Other', 'other@email.test');
    const other = await login('other@email.test');
    for (const token of [undefined, other, 'not.a.token']) {
      const response = await req('GET', '/org/get?organization_name=Email%20Owner', token ? { token } : {});
      expect(response.status).toBe(200);
      expect(response.body.admin_email).toBeNull();
      expect(OrgMetadata.safeParse(response.body).success).toBe(true);
    }
    // An id is not a name.
    expect((await req('GET', `/org/get?organization_name=${owner.body.organization_id}`)).status).toBe(404);
    // Over HTTP, with a token of that organization, the email is shown.
    const own = await req('GET', '/org/get?organization_name=Email%20Owner', {
      token: await login('owner@email.test'),
    });
    expect(own.status).toBe(200);
    expect(OrgMetadata.parse(own.body).admin_email).toBe('owner@email.test');
  });

  it('POST /org/create: EMAIL_TAKEN answers count against the client, other answers do not', async () => {
    // Its own server: the client key (127.0.0.1 here) is shared by the other tests.
    const own = await startReference(framework, client, dbName(`${framework}-signup`));
    try {
      const signup = (name: string, email: string, password = PASSWORD) =>
        call(own.url, 'POST', '/org/create', { body: { organization_name: name, email, password } });
      expect((await signup('Signup Holder', 'holder@signup.test')).status).toBe(201);
      for (let i = 0; i < 3; i++) expect((await signup(`Weak ${i}`, `weak${i}@signup.test`, 'short')).status).toBe(422);
      for (let i = 0; i < 3; i++) expect((await signup(`Fine ${i}`, `fine${i}@signup.test`)).status).toBe(201);
      expect((await signup('signup holder', 'other@signup.test')).status).toBe(409); // TENANT_EXISTS: not counted
      for (let i = 0; i < 20; i++) {
        const probe = await signup(`Probe ${i}`, 'holder@signup.test');
        expect(probe.body.code).toBe('EMAIL_TAKEN');
      }
      const locked = await signup('Honest Org', 'fresh@signup.test');
      expect(locked.status).toBe(429);
      expect(locked.body.code).toBe('LOCKED');
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      const signIn = await call(own.url, 'POST', '/admin/login', {
        body: { email: 'holder@signup.test', password: PASSWORD },
      });
      expect(signIn.status).toBe(200);
    } finally {
      await own.close();
    }
  });

  it('answers 503 with Retry-After while an organization is being renamed, and records no failed login', async () => {
    let held: { reached: ReturnType<typeof gate>; release: ReturnType<typeof gate> } | undefined;
    const afterStep = async (event: StepEvent) => {
      if (event.op !== 'rename' || event.step !== 'renamed' || !held) return;
      held.reached.open();
      await held.release.closed;
    };
    const tenants = new TenantManager({
      client,
      masterDbName: dbName(`${framework}-busy`),
      strategy: collectionPerTenant({ renameStorage: true }),
      hooks: { afterStep },
    });
    const auth = new AuthService({
      tenants,
      hasher: bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
      tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] },
    });
    const http = await listen(framework, { tenants, auth, lookups: new TenantLookups(tenants) }, 0, '127.0.0.1');
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const body = { organization_name: 'Busy Org', email: 'busy@x.test', password: PASSWORD };
      expect((await call(url, 'POST', '/org/create', { body })).status).toBe(201);
      const credentials = { body: { email: 'busy@x.test', password: PASSWORD } };
      const token = (await call(url, 'POST', '/admin/login', credentials)).body.access_token as string;
      held = { reached: gate(), release: gate() };
      const renaming = tenants.rename((await tenants.get({ name: 'Busy Org' }))?.id as string, 'Busy Moved');
      await held.reached.closed;
      for (let i = 0; i < 6; i++) {
        const busy = await call(url, 'POST', '/admin/login', credentials);
        expect(busy.status).toBe(503);
        expect(busy.body.code).toBe('TENANT_UNAVAILABLE');
        expect(Number(busy.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      const update = await call(url, 'PUT', '/org/update', { token, body: { organization_name: 'Busy Org' } });
      expect(update.status).toBe(503);
      expect(update.headers.get('retry-after')).toBe(String(update.body.retryAfter));
      held.release.open();
      await renaming;
      expect((await call(url, 'POST', '/admin/login', credentials)).status).toBe(200);
      const after = await call(url, 'PUT', '/org/update', { token, body: { organization_name: 'Busy Moved' } });
      expect(after.status).toBe(200);
    } finally {
      held?.release.open();
      http.closeAllConnections();
      await new Promise<void>((done) => http.close(() => done()));
      await auth.close();
    }
  });

  it.each([
    ['missing fields', { organization_name: 'Missing' }],
    ['wrong types', { organization_name: 42, email: true, password: [] }],
    ['operator objects', { organization_name: { $ne: null }, email: { $gt: '' }, password: PASSWORD }],
    ['arrays', { organization_name: ['A'], email: ['a@a.test'], password: PASSWORD }],
    ['unknown fields', { organization_name: 'Extra', email: 'e@x.test', password: PASSWORD, admin: true }],
    ['a weak password', { organization_name: 'Weak', email: 'w@x.test', password: 'short' }],
  ])('refuses %s with 422, one entry per field, and creates nothing', async (_label, body) => {
    const before = (await server.tenants.list()).tenants.length;
    const response = await req('POST', '/org/create', { body });
    expect(response.status).toBe(422);
    expect(response.body.code).toBe('INVALID_INPUT');
    expect(response.body.errors.length).toBeGreaterThan(0);
    expect((await server.tenants.list()).tenants.length).toBe(before);
  });

  it('refuses bad input on every route with the right 4xx and changes nothing', async () => {
    await create('Matrix Org', 'matrix@x.test');
    const token = await login('matrix@x.test');
    const before = JSON.stringify((await server.tenants.list()).tenants.map((t) => [t.id, t.name]));
    const bad = [
      {},
      { organization_name: 7 },
      { organization_name: { $ne: null } },
      { organization_name: ['a'] },
      { organization_name: 'A', nope: 1 },
    ];
    for (const body of bad) {
      for (const [method, path, secured] of [
        ['POST', '/org/create', false],
        ['POST', '/admin/login', false],
        ['PUT', '/org/update', true],
        ['DELETE', '/org/delete', true],
      ] as const) {
        const response = await req(method, path, { body, ...(secured ? { token } : {}) });
        expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(422);
      }
    }
    for (const query of [
      '',
      '?organization_name=',
      '?organization_name[$ne]=x',
      '?organization_name=a&organization_name=b',
      '?x=1',
    ]) {
      expect((await req('GET', `/org/get${query}`)).status, query).toBe(422);
    }
    for (const [method, path] of [
      ['POST', '/org/create'],
      ['POST', '/admin/login'],
      ['PUT', '/org/update'],
      ['DELETE', '/org/delete'],
    ] as const) {
      expect((await req(method, path, { raw: '{"organization_name": ', token })).status).toBe(422);
      expect((await req(method, path, { raw: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }), token })).status).toBe(
        413,
      );
    }
    expect(JSON.stringify((await server.tenants.list()).tenants.map((t) => [t.id, t.name]))).toBe(before);
    expect((await req('POST', '/admin/login', { body: { email: 'matrix@x.test', password: PASSWORD } })).status).toBe(
      200,
    );
  });

  it('refuses invalid JSON (422) and 1 MiB bodies (413), revealing nothing internal', async () => {
    const invalid = await req('POST', '/admin/login', { raw: '{"email": "a@b.test", "password": ' });
    expect(invalid.status).toBe(422);
    const huge = await req('POST', '/org/create', {
      body: { organization_name: 'Huge', email: 'h@x.test', password: PASSWORD, pad: 'x'.repeat(1024 * 1024) },
    });
    expect(huge.status).toBe(413);
    for (const response of [invalid, huge]) {
      expect(JSON.stringify(response.body)).not.toMatch(/stack|at .*\.js|mongodb|Error:/);
    }
    expect(await server.tenants.get({ name: 'Huge' })).toBeNull();
  });

  it('answers a token whose organization another process suspended or dropped with 401 TOKEN_REVOKED', async () => {
    const masterDbName = dbName(`${framework}-elsewhere`);
    const hasher = bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' });
    const ctx = routeContext(client, { masterDbName, secretKey: strongSecret(), tokenMinutes: 30 }, hasher);
    await ctx.auth.init();
    // Lookups that keep nothing: they see another process's change before verify's cache (revocationCacheMs) does.
    ctx.lookups.close();
    const lookups = new TenantLookups(ctx.tenants, { ttlMs: 0, missTtlMs: 0 });
    const http = await listen(framework, { ...ctx, lookups }, 0, '127.0.0.1');
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    // Another process's manager: this server's caches do not hear of its changes.
    const elsewhere = new TenantManager({
      client,
      masterDbName,
      strategy: collectionPerTenant({ renameStorage: true }),
    });
    try {
      const changes = [
        ['Suspended Elsewhere', (id: string) => elsewhere.suspend(id)],
        ['Dropped Elsewhere', (id: string) => elsewhere.drop(id)],
      ] as const;
      for (const [name, change] of changes) {
        const email = `${name.split(' ')[0]?.toLowerCase()}@elsewhere.test`;
        const created = await call(url, 'POST', '/org/create', {
          body: { organization_name: name, email, password: PASSWORD },
        });
        const token = (await call(url, 'POST', '/admin/login', { body: { email, password: PASSWORD } })).body
          .access_token as string;
        const update = () => call(url, 'PUT', '/org/update', { token, body: { organization_name: name } });
        expect((await update()).status).toBe(200); // verify has cached the organization as active
        await change(created.body.organization_id);
        expect(await update()).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } });
      }
    } finally {
      http.closeAllConnections();
      await new Promise<void>((done) => http.close(() => done()));
      lookups.close();
      await ctx.auth.close();
    }
  });

  it('answers a body too large, an unknown route and a method a path does not take as client errors', async () => {
    // No catalogue code fits these: toProblem keeps the status, with code CLIENT_ERROR.
    const huge = await req('POST', '/admin/login', { raw: JSON.stringify({ pad: 'x'.repeat(32 * 1024) }) });
    expect(huge.body).toMatchObject({ status: 413, code: 'CLIENT_ERROR' });
    const missing = [
      await req('GET', '/nowhere'),
      await req('GET', '/docs/assets/nothing.js'),
      await req('POST', '/org/create/more', { body: {} }),
    ];
    // A method a path does not take: 404 on Express, 405 with Allow on Koa, as each framework answers it.
    const wrongMethod = await req('GET', '/org/create');
    expect(wrongMethod.status).toBe(framework === 'koa' ? 405 : 404);
    if (framework === 'koa') expect(wrongMethod.headers.get('allow')).toBe('POST');
    for (const response of [huge, ...missing, wrongMethod]) {
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(ProblemBody.strict().parse(response.body)).toMatchObject({
        status: response.status,
        code: 'CLIENT_ERROR',
      });
    }
    for (const response of missing) expect(response.status).toBe(404);
  });

  it('finds the caller’s organization on secured routes from the token, through the cached lookups', async () => {
    const id = (await create('Context Org', 'context@x.test')).body.organization_id as string;
    const token = await login('context@x.test');
    const lookups = vi.spyOn(server.lookups, 'get');
    const update = () => req('PUT', '/org/update', { token, body: { organization_name: 'Context Org' } });
    try {
      expect((await update()).status).toBe(200);
      expect(lookups).toHaveBeenCalledWith({ id });
      await server.auth.suspendOrganization(id);
      expect(await update()).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } });
      await server.auth.resumeOrganization(id);
      expect((await update()).status).toBe(200);
    } finally {
      lookups.mockRestore();
    }
  });

  it('serves /openapi.json (3.1, generated), /docs and /healthz with security headers', async () => {
    const spec = await req('GET', '/openapi.json');
    expect(spec.body.openapi).toBe('3.1.0');
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining(['/org/create', '/org/get', '/org/update', '/org/delete', '/admin/login']),
    );
    expect(spec.body.paths['/org/create'].post.requestBody.content['application/json'].schema.required).toEqual([
      'organization_name',
      'email',
      'password',
    ]);
    // One metadata document under every TENANT_LAYOUT: every field always present, the layout named among them.
    const metadata = spec.body.paths['/org/create'].post.responses['201'].content['application/json'].schema;
    expect([...metadata.required].sort()).toEqual(METADATA_FIELDS);
    expect(metadata.properties.storage_layout.enum).toEqual(LAYOUTS);
    expect(spec.body.paths['/org/get'].get.responses['200'].content['application/json'].schema).toEqual(metadata);
    expect(spec.body.paths['/org/update'].put.responses['200'].content['application/json'].schema).toEqual(metadata);
    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/docs/assets/swagger-ui-bundle.js');
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
    expect((await fetch(`${server.url}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
    const health = await req('GET', '/healthz');
    expect(health.body).toEqual({ status: 'ok' });
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('x-powered-by')).toBeNull();
  });
});
