/**
 * Which tenant a request is for, from what any framework can hand over
 * (`{ method, path, headers, host }`). Resolvers each read one place (the
 * verified token, a header, the host, a path prefix); {@link resolveTenant}
 * tries them in order and the first answer wins, except that a header, a
 * host or a path can never widen what a bearer token allows.
 */
import type { AuthContext } from '../auth/verifier.js';
import { TenancyError } from '../errors.js';
import { requireBearerToken } from '../http.js';
import type { TenantRef } from '../tenants/refs.js';
import type { Tenant } from '../tenants/types.js';
import type { TenantDomains } from './domains.js';

/** A request as every framework can describe it. Header names in lower case, as Node gives them. */
export interface TenantRequest {
  readonly method?: string;
  /** The path, without the query string (a query string is ignored). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The host the request came to; the `host` header when left out. */
  readonly host?: string;
}

/** What a resolver gives: the tenant a request names, as a reference to look up, or nothing. */
export type TenantResolver = (request: TenantRequest, token: AuthContext | undefined) => Promise<TenantRef | null>;

/** How a header or a path segment names the tenant: by its id (the default), or by its name. */
export type NamedBy = 'id' | 'name';

/**
 * The verified bearer token's organization (`org` claim).
 *
 * @example
 * ```ts
 * const resolve = resolveTenant({ tenants, auth, resolvers: [fromToken()] });
 * ```
 * @throws Nothing itself: `resolveTenant` verifies the token.
 */
export function fromToken(): TenantResolver {
  return async (_request, token) => (token ? { id: token.tenantId } : null);
}

/**
 * A header naming the tenant, `x-tenant-id` by default.
 *
 * @example
 * ```ts
 * fromHeader({ name: 'x-org', by: 'name' });
 * ```
 * @throws Nothing itself; a malformed id is `INVALID_INPUT` when `resolveTenant` looks it up.
 */
export function fromHeader(options: { name?: string; by?: NamedBy } = {}): TenantResolver {
  const name = (options.name ?? 'x-tenant-id').toLowerCase();
  return async (request) => named(single(request.headers[name]), options.by);
}

/**
 * The tenant whose domain the request came to (see {@link TenantDomains}):
 * a custom domain, or a subdomain of yours registered for the tenant.
 *
 * @example
 * ```ts
 * fromHost(new TenantDomains(tenants));
 * ```
 * @throws Nothing itself; `STORAGE` when the domains cannot be read.
 */
export function fromHost(domains: DomainSource): TenantResolver {
  return async (request) => {
    const host = request.host ?? single(request.headers.host);
    return host === undefined ? null : await domains.find(host);
  };
}

/**
 * The first path segment after `prefix` (default `/t/`): `/t/<tenant>/orders`.
 *
 * @example
 * ```ts
 * fromPath({ prefix: '/orgs/', by: 'id' });
 * ```
 * @throws Nothing itself.
 */
export function fromPath(options: { prefix?: string; by?: NamedBy } = {}): TenantResolver {
  const prefix = options.prefix ?? '/t/';
  return async (request) => {
    const path = request.path.split('?')[0] ?? '';
    if (!path.startsWith(prefix)) return null;
    const segment = path.slice(prefix.length).split('/')[0] ?? '';
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new TenancyError('INVALID_INPUT', 'The tenant in the path is not valid percent-encoding', {
        details: { field: 'path' },
      });
    }
    return named(decoded, options.by);
  };
}

/** Where hosts are looked up: {@link TenantDomains}, or `TenantLookups` (the same, cached). */
export interface DomainSource {
  find(host: string): Promise<{ readonly id: string } | null>;
}

/** Where tenants are looked up: the `TenantManager`, or `TenantLookups` (the same, cached). */
export interface TenantSource {
  get(ref: TenantRef): Promise<Tenant | null>;
}

/** What {@link resolveTenant} found: the tenant, and the verified token when there was one. */
export interface ResolvedTenant {
  readonly tenant: Tenant;
  readonly auth: AuthContext | undefined;
}

/** Options of {@link resolveTenant}. */
export interface ResolveTenantOptions {
  readonly tenants: TenantSource;
  /** Verifies a bearer token when the request has one; without it, a request's token is not read. */
  readonly auth?: { verify(token: string): Promise<AuthContext> };
  /** Tried in order; the first that names a tenant wins. */
  readonly resolvers: readonly TenantResolver[];
}

/**
 * A function from a request to its tenant (any status: the caller decides
 * what a suspended one gets), or `null` when no resolver names one. When the
 * request carries a bearer token it is verified first, and a resolver that
 * names another tenant than the token's is `FORBIDDEN`.
 *
 * @example
 * ```ts
 * const resolve = resolveTenant({ tenants, auth, resolvers: [fromToken(), fromHeader()] });
 * const found = await resolve({ path: '/orders', headers: req.headers });
 * ```
 * @throws {@link TenancyError} (from the returned function) `TOKEN_*` for a bad token; `FORBIDDEN` when the
 * tenant named is not the token's; `TENANT_NOT_FOUND` when it does not exist; `INVALID_INPUT`; `STORAGE`.
 */
export function resolveTenant(
  options: ResolveTenantOptions,
): (request: TenantRequest) => Promise<ResolvedTenant | null> {
  const { tenants, auth, resolvers } = options;
  return async (request) => {
    const header = single(request.headers.authorization);
    const token = auth && header !== undefined ? await auth.verify(requireBearerToken(header)) : undefined;
    for (const resolver of resolvers) {
      const ref = await resolver(request, token);
      if (ref === null) continue;
      const tenant = await tenants.get(ref);
      if (tenant === null) throw new TenancyError('TENANT_NOT_FOUND');
      if (token && token.tenantId !== tenant.id) throw new TenancyError('FORBIDDEN');
      return { tenant, auth: token };
    }
    return null;
  };
}

function single(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value.length > 1) {
    throw new TenancyError('INVALID_INPUT', 'A header the tenant is read from was given more than once', {
      details: { field: 'headers' },
    });
  }
  return value[0];
}

function named(value: string | undefined, by: NamedBy = 'id'): TenantRef | null {
  if (value === undefined || value === '') return null;
  return by === 'name' ? { name: value } : { id: value };
}
