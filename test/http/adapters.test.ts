/**
 * The copy-this-file adapters, Express and Koa alike: `req.tenant` / `ctx.state.tenant` is the caller's own
 * organization, read from the registry once per tenant and not on every request; errors are problems.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as expressAdapter from '../../examples/express/index.js';
import * as koaAdapter from '../../examples/koa/index.js';
import {
  type AuthService,
  currentTenant,
  fromHeader,
  fromPath,
  fromToken,
  resolveTenant,
  type TenantManager,
} from '../../src/index.js';
import { authFactory, PASSWORD, strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

type Options = expressAdapter.RequireAuthOptions;

function expressServer(auth: AuthService, tenants: TenantManager, options: Options) {
  const app = express();
  app.get('/me', expressAdapter.requireAuth(auth, options), async (req, res) => {
    const tenant = expressAdapter.tenantOf(req);
    const count = await tenants.scope(tenant).collection('orders').countDocuments();
    res.json({ tenant: req.tenant?.name, admin: expressAdapter.authOf(req).adminId, count });
  });
  app.use(expressAdapter.problemHandler());
  return createServer(app);
}

function koaServer(auth: AuthService, tenants: TenantManager, options: Options) {
  const router = new Router<koaAdapter.AuthState>();
  router.get('/me', koaAdapter.requireAuth(auth, options), async (ctx) => {
    const count = await tenants.scope(ctx.state.tenant).collection('orders').countDocuments();
    ctx.body = { tenant: ctx.state.tenant.name, admin: koaAdapter.authOf(ctx).adminId, count };
  });
  const app = new Koa();
  app.use(koaAdapter.problemHandler());
  app.use(router.routes());
  return createServer(app.callback());
}

async function start(framework: 'express' | 'koa', options: Options = {}) {
  // The AuthService's default revocationCacheMs, so verify itself reads nothing on a warm cache.
  const { auth, tenants } = make({ tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] } });
  const server = (framework === 'express' ? expressServer : koaServer)(auth, tenants, options);
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { tenant, admin } = await auth.registerOrganization({
    name: 'Acme Corp',
    email: 'a@a.test',
    password: PASSWORD,
  });
  const { token } = await auth.login({ email: 'a@a.test', password: PASSWORD });
  const get = async (bearer = token) => {
    const response = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${bearer}` } });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as { tenant?: string; admin?: string; count?: number; code?: string },
    };
  };
  return { auth, tenants, tenant, admin, get, reads: vi.spyOn(tenants, 'get') };
}

describe.each(['express', 'koa'] as const)('the %s adapter', (framework) => {
  it('sets the caller’s tenant and reads it from the registry once, not on every request', async () => {
    const { tenant, admin, get, reads } = await start(framework);
    expect(await get()).toMatchObject({ status: 200, body: { tenant: 'Acme Corp', admin: admin.id, count: 0 } });
    const first = reads.mock.calls.length;
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect((await get()).body.tenant).toBe('Acme Corp');
    expect(reads.mock.calls.length).toBe(first);
    expect(reads.mock.calls.every(([ref]) => ref === tenant.id || (ref as { id?: string }).id === tenant.id)).toBe(
      true,
    );
  });

  it('reads the tenant on every request with tenantCacheMs: 0', async () => {
    const { get, reads } = await start(framework, { tenantCacheMs: 0 });
    await get();
    const first = reads.mock.calls.length;
    await get();
    await get();
    expect(reads.mock.calls.length).toBe(first + 2);
  });

  it('answers a missing or revoked token with a problem, and a suspended organization at once', async () => {
    const { auth, tenant, get } = await start(framework);
    const missing = await get('');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(missing.body.code).toBe('TOKEN_INVALID');
    expect((await get()).status).toBe(200); // the tenant is cached now
    await auth.suspendOrganization(tenant.id);
    expect(await get()).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } });
  });

  it('refuses cache options out of range at once', () => {
    const adapter = framework === 'express' ? expressAdapter : koaAdapter;
    const { auth } = make();
    for (const options of [{ tenantCacheMs: -1 }, { tenantCacheMs: 60_001 }, { tenantCacheSize: 0 }]) {
      expect(() => adapter.requireAuth(auth, options)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    }
  });
});

/** A server whose /api routes run behind tenantContext: the handlers use scope() and currentTenant() alone. */
function contextServer(
  framework: 'express' | 'koa',
  tenants: TenantManager,
  resolve: Parameters<typeof expressAdapter.tenantContext>[0],
) {
  const handle = async () => {
    const tenant = currentTenant();
    await sleep(1); // an await between the middleware and the read: the context follows
    return {
      tenant: tenant?.name,
      orders: await tenants.scope().collection('orders').countDocuments(),
    };
  };
  if (framework === 'express') {
    const app = express();
    app.use('/api', expressAdapter.tenantContext(resolve));
    app.get('/api/orders', async (_req, res, next) => handle().then((body) => res.json(body), next));
    app.get('/t/:id/orders', expressAdapter.tenantContext(resolve), async (_req, res, next) =>
      handle().then((body) => res.json(body), next),
    );
    app.use(expressAdapter.problemHandler({ log: () => undefined }));
    return createServer(app);
  }
  const router = new Router<koaAdapter.TenantState>();
  router.get('/api/orders', koaAdapter.tenantContext(resolve), async (ctx) => {
    ctx.body = await handle();
  });
  router.get('/t/:id/orders', koaAdapter.tenantContext(resolve), async (ctx) => {
    ctx.body = await handle();
  });
  const app = new Koa();
  app.use(koaAdapter.problemHandler({ log: () => undefined }));
  app.use(router.routes());
  return createServer(app.callback());
}

describe.each(['express', 'koa'] as const)('tenantContext on %s', (framework) => {
  it('runs the request in its tenant\u2019s context; unknown is 404, suspended 503, another than the token\u2019s 403', async () => {
    const { auth, tenants } = make({ tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] } });
    const { tenant: acme } = await auth.registerOrganization({ name: 'Acme', email: 'a@a.test', password: PASSWORD });
    const { tenant: globex } = await auth.registerOrganization({
      name: 'Globex',
      email: 'g@g.test',
      password: PASSWORD,
    });
    await tenants
      .scope(acme)
      .collection('orders')
      .insertMany([{ n: 1 }, { n: 2 }]);
    const { token } = await auth.login({ email: 'a@a.test', password: PASSWORD });
    const resolve = resolveTenant({ tenants, auth, resolvers: [fromPath(), fromHeader(), fromToken()] });
    const server = contextServer(framework, tenants, resolve);
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const call = async (path: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${url}${path}`, { headers });
      return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
    };
    const bearer = { authorization: `Bearer ${token}` };
    expect(await call('/api/orders', bearer)).toMatchObject({ status: 200, body: { tenant: 'Acme', orders: 2 } });
    expect(await call('/api/orders', { 'x-tenant-id': globex.id })).toMatchObject({
      status: 200,
      body: { tenant: 'Globex', orders: 0 },
    });
    expect(await call(`/t/${globex.id}/orders`)).toMatchObject({ status: 200, body: { tenant: 'Globex' } });
    expect(await call('/api/orders', { ...bearer, 'x-tenant-id': globex.id })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
    expect(await call(`/t/${globex.id}/orders`, bearer)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const unknown = await call('/api/orders', { 'x-tenant-id': '65f0a0a0a0a0a0a0a0a0a0a0' });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    expect(unknown.type).toMatch(/^application\/problem\+json/);
    expect(await call('/api/orders')).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_FOUND' } });
    await tenants.suspend(globex.id);
    expect(await call('/api/orders', { 'x-tenant-id': globex.id })).toMatchObject({
      status: 503,
      body: { code: 'TENANT_UNAVAILABLE' },
    });
    await auth.close();
  });
});
