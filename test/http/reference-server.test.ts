/** The original service's flow end to end, over real HTTP, against both the Express and the Koa server. */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrgMetadata } from '../../examples/reference-server/schemas.js';
import { listen } from '../../examples/reference-server/server.js';
import { AuthService, bcryptHasher, collectionPerTenant, type StepEvent, TenantManager } from '../../src/index.js';
import { strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';
import { gate } from '../support/gate.js';
import { call, startReference } from '../support/reference-server.js';

const { client, dbName } = useTestClient();
const PASSWORD = 'correct horse battery';

describe.each(['express', 'koa'] as const)('reference server on %s', (framework) => {
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

  it('runs the seed flow: create, duplicate, get, login, update with a rename that keeps the data, delete', async () => {
    const created = await create('Acme Corp', 'Ada@Acme.test');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      organization_name: 'Acme Corp',
      collection_name: 'org_acme_corp',
      admin_email: 'ada@acme.test',
    });
    expect(Date.parse(created.body.created_at)).not.toBeNaN();
    expect((await create('ACME corp', 'other@acme.test')).status).toBe(409);
    expect((await req('GET', '/org/get?organization_name=Acme%20Corp')).body).toMatchObject({
      organization_id: created.body.organization_id,
    });
    expect((await req('GET', '/org/get?organization_name=Nobody')).status).toBe(404);

    const signIn = await req('POST', '/admin/login', { body: { email: 'ada@acme.test', password: PASSWORD } });
    expect(signIn.status).toBe(200);
    expect(signIn.body).toMatchObject({ token_type: 'bearer' });
    expect(signIn.body.expires_in).toBeGreaterThan(1_700);
    const token = signIn.body.access_token as string;

    const tenant = await server.tenants.get({ name: 'Acme Corp' });
    await server.tenants
      .scope(tenant as never)
      .collection()
      .insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const updated = await req('PUT', '/org/update', { token, body: { organization_name: 'Acme Industries' } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      organization_name: 'Acme Industries',
      collection_name: 'org_acme_industries',
    });
    const renamed = await server.tenants.get({ name: 'Acme Industries' });
    expect(
      await server.tenants
        .scope(renamed as never)
        .collection()
        .countDocuments(),
    ).toBe(3);
    expect((await req('GET', '/org/get?organization_name=Acme%20Corp')).status).toBe(404);

    const changed = await req('PUT', '/org/update', {
      token,
      body: { organization_name: 'Acme Industries', email: 'ada@industries.test', password: 'a new passphrase' },
    });
    expect(changed.body.admin_email).toBe('ada@industries.test');
    expect((await req('PUT', '/org/update', { token, body: { organization_name: 'X' } })).status).toBe(401); // revoked
    const fresh = await login('ada@industries.test', 'a new passphrase');

    await create('Globex', 'hank@globex.test');
    const other = await login('hank@globex.test');
    expect(
      (await req('DELETE', '/org/delete', { token: other, body: { organization_name: 'Acme Industries' } })).status,
    ).toBe(403);
    expect((await req('DELETE', '/org/delete?organization_name=Nowhere', { token: other })).status).toBe(404);
    expect((await req('PUT', '/org/update', { token: fresh, body: { organization_name: 'Globex' } })).status).toBe(409);

    const deleted = await req('DELETE', '/org/delete?organization_name=Acme%20Industries', { token: fresh });
    expect(deleted.status).toBe(200);
    expect((await req('GET', '/org/get?organization_name=Acme%20Industries')).status).toBe(404);
    expect((await req('PUT', '/org/update', { token: fresh, body: { organization_name: 'Back' } })).status).toBe(401);
  });

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

  it('PUT /org/update is all or nothing: a 409 leaves name, storage, email and password as they were', async () => {
    await create('Stay Put', 'stay@put.test');
    await create('Holder Org', 'holder@put.test');
    const token = await login('stay@put.test');
    const tenant = await server.tenants.get({ name: 'Stay Put' });
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
      expect(
        await server.tenants
          .scope(after as never)
          .collection()
          .countDocuments(),
      ).toBe(2);
    }
    expect((await req('GET', '/org/get?organization_name=Moved%20Away')).status).toBe(404);
    expect(
      (await req('POST', '/admin/login', { body: { email: 'stay@new.test', password: 'another passphrase' } })).status,
    ).toBe(401);
    expect((await req('POST', '/admin/login', { body: { email: 'stay@put.test', password: PASSWORD } })).status).toBe(
      200,
    );
    // Nothing was revoked either.
    expect((await req('PUT', '/org/update', { token, body: { organization_name: 'Stay Put' } })).status).toBe(200);
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
    const http = await listen(framework, { tenants, auth }, 0, '127.0.0.1');
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
