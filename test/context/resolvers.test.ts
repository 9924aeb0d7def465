/**
 * Which tenant a request is for: domains claimed by one tenant at most (case, ports and IDNs normalized, removed
 * with their tenant), and resolvers composed in order, where a header, host or path never widens a bearer token.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AuthService,
  bcryptHasher,
  fromHeader,
  fromHost,
  fromPath,
  fromToken,
  normalizeDomain,
  resolveTenant,
  type Tenant,
  TenantDomains,
  type TenantManager,
  type TenantRequest,
} from '../../src/index.js';
import { PASSWORD, strongSecret } from '../support/auth.js';
import { codeOf } from '../support/codes.js';
import { managerFactory, useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const newManager = managerFactory(client, dbName);

const request = (overrides: Partial<TenantRequest> = {}): TenantRequest => ({ path: '/', headers: {}, ...overrides });

describe('domains', () => {
  it('normalizes case, ports, a trailing dot and IDNs; refuses what is not a domain name', async () => {
    expect(normalizeDomain('Shop.ACME.test:8443')).toBe('shop.acme.test');
    expect(normalizeDomain('bücher.example.')).toBe('xn--bcher-kva.example');
    for (const bad of ['', 'localhost', 'a..b', '-a.test', 'a-.test', 'a b.test', 'x'.repeat(64) + '.test', 42, null]) {
      expect(await codeOf(() => normalizeDomain(bad)), String(bad)).toBe('INVALID_INPUT');
    }
  });

  it('a domain is held by one tenant at most; adding it again is a no-op; remove frees it', async () => {
    const tenants = newManager();
    const domains = new TenantDomains(tenants);
    const [acme, globex] = [await tenants.create({ name: 'Acme' }), await tenants.create({ name: 'Globex' })];
    expect(await domains.add(acme.id, 'Shop.Acme.test')).toMatchObject({ domain: 'shop.acme.test', tenantId: acme.id });
    expect(await domains.add(acme.id, 'shop.acme.test.')).toMatchObject({ tenantId: acme.id });
    expect(await codeOf(() => domains.add(globex.id, 'SHOP.acme.test'))).toBe('DOMAIN_TAKEN');
    const both = await Promise.all([
      codeOf(() => domains.add(acme.id, 'race.test')),
      codeOf(() => domains.add(globex.id, 'race.test')),
    ]);
    expect(both.sort()).toEqual(['DOMAIN_TAKEN', 'resolved']);
    expect((await domains.list(acme.id)).map((d) => d.domain)).toContain('shop.acme.test');
    expect(await domains.find('shop.acme.test:443')).toEqual({ id: acme.id });
    expect(await domains.find('unknown.test')).toBeNull();
    expect(await domains.find('not a host')).toBeNull();
    expect(await domains.remove('shop.acme.test')).toBe(true);
    expect(await domains.remove('shop.acme.test')).toBe(false);
    expect(await domains.add(globex.id, 'shop.acme.test')).toMatchObject({ tenantId: globex.id });
  });

  it('only an active tenant gets a domain, and a drop removes its domains', async () => {
    const tenants = newManager();
    const domains = new TenantDomains(tenants);
    const acme = await tenants.create({ name: 'Acme' });
    await domains.add(acme.id, 'acme.test');
    await tenants.suspend(acme.id);
    expect(await codeOf(() => domains.add(acme.id, 'other.test'))).toBe('TENANT_UNAVAILABLE');
    await tenants.resume(acme.id);
    await tenants.drop(acme.id);
    expect(await domains.find('acme.test')).toBeNull();
    expect(await codeOf(() => domains.add(acme.id, 'other.test'))).toBe('TENANT_NOT_FOUND');
    expect((await tenants.doctor()).findings).toEqual([]);
  });
});

describe('resolveTenant', () => {
  let tenants: TenantManager;
  let auth: AuthService;
  let domains: TenantDomains;
  let acme: Tenant;
  let globex: Tenant;
  let acmeToken: string;

  beforeAll(async () => {
    tenants = newManager();
    domains = new TenantDomains(tenants);
    auth = new AuthService({
      tenants,
      hasher: bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
      tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] },
    });
    ({ tenant: acme } = await auth.registerOrganization({ name: 'Acme', email: 'a@acme.test', password: PASSWORD }));
    ({ tenant: globex } = await auth.registerOrganization({
      name: 'Globex',
      email: 'g@globex.test',
      password: PASSWORD,
    }));
    acmeToken = (await auth.login({ email: 'a@acme.test', password: PASSWORD })).token;
    await domains.add(acme.id, 'acme.test');
    await domains.add(globex.id, 'globex.test');
    return () => auth.close();
  });

  it('each resolver reads its place; the first that answers wins; none answering is null', async () => {
    const resolve = resolveTenant({ tenants, resolvers: [fromHeader(), fromHost(domains), fromPath()] });
    const id = async (r: TenantRequest) => (await resolve(r))?.tenant.id;
    expect(await id(request({ headers: { 'x-tenant-id': acme.id } }))).toBe(acme.id);
    expect(await id(request({ headers: { host: 'GLOBEX.test:8080' } }))).toBe(globex.id);
    expect(await id(request({ host: 'acme.test' }))).toBe(acme.id);
    expect(await id(request({ path: `/t/${globex.id}/orders?x=1` }))).toBe(globex.id);
    expect(await id(request({ headers: { 'x-tenant-id': acme.id, host: 'globex.test' } }))).toBe(acme.id);
    expect(await resolve(request({ path: '/orders', headers: { host: 'unknown.test' } }))).toBeNull();
    const byName = resolveTenant({ tenants, resolvers: [fromPath({ prefix: '/orgs/', by: 'name' })] });
    expect((await byName(request({ path: '/orgs/GLOBEX/x' })))?.tenant.id).toBe(globex.id);
  });

  it('a named tenant that does not exist is TENANT_NOT_FOUND; malformed input is INVALID_INPUT', async () => {
    const resolve = resolveTenant({ tenants, resolvers: [fromHeader(), fromPath()] });
    const missing = '65f0a0a0a0a0a0a0a0a0a0a0';
    expect(await codeOf(() => resolve(request({ headers: { 'x-tenant-id': missing } })))).toBe('TENANT_NOT_FOUND');
    expect(await codeOf(() => resolve(request({ headers: { 'x-tenant-id': 'Acme' } })))).toBe('INVALID_INPUT');
    expect(await codeOf(() => resolve(request({ headers: { 'x-tenant-id': [acme.id, globex.id] } })))).toBe(
      'INVALID_INPUT',
    );
    expect(await codeOf(() => resolve(request({ path: '/t/%E0%A4%A/x' })))).toBe('INVALID_INPUT');
  });

  it('with a bearer token: the token\u2019s tenant, and a header, host or path naming another is FORBIDDEN', async () => {
    const resolve = resolveTenant({ tenants, auth, resolvers: [fromHeader(), fromHost(domains), fromToken()] });
    const authorization = `Bearer ${acmeToken}`;
    const found = await resolve(request({ headers: { authorization } }));
    expect(found?.tenant.id).toBe(acme.id);
    expect(found?.auth?.tenantId).toBe(acme.id);
    expect((await resolve(request({ headers: { authorization, host: 'acme.test' } })))?.tenant.id).toBe(acme.id);
    for (const headers of [
      { authorization, 'x-tenant-id': globex.id },
      { authorization, host: 'globex.test' },
    ]) {
      expect(await codeOf(() => resolve(request({ headers })))).toBe('FORBIDDEN');
    }
    const pathFirst = resolveTenant({ tenants, auth, resolvers: [fromPath(), fromToken()] });
    expect(await codeOf(() => pathFirst(request({ path: `/t/${globex.id}/`, headers: { authorization } })))).toBe(
      'FORBIDDEN',
    );
    expect(await codeOf(() => resolve(request({ headers: { authorization: 'Bearer nope' } })))).toBe('TOKEN_INVALID');
    // Without a token, the header alone names the tenant (what it may do there is the application's to decide).
    expect((await resolve(request({ headers: { 'x-tenant-id': globex.id } })))?.tenant.id).toBe(globex.id);
  });
});
