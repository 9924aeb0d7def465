/**
 * The reference server's routes, once, for every framework: what each
 * route reads, how it is validated, and what it does with the library.
 * The Express and Koa apps only mount this table.
 */
import {
  type AuthContext,
  type AuthService,
  bearerToken,
  fromToken,
  isTenancyError,
  type ResolvedTenant,
  requireBearerToken,
  resolveTenant,
  TenancyError,
  type Tenant,
  type TenantLookups,
  type TenantManager,
  type TenantRequest,
} from 'mongo-tenancy';
import type { z } from 'zod';
import * as s from './schemas.js';

export interface RouteContext {
  tenants: TenantManager;
  auth: AuthService;
  /** The manager's tenants, cached: where the secured routes look the caller's organization up. */
  lookups: TenantLookups;
}

export interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  /** Where the input comes from: the JSON body, the query string, or either (body first). */
  input: 'body' | 'query' | 'body-or-query' | 'none';
  schema: z.ZodType;
  /**
   * Whether a bearer token is required: the route runs behind the adapter's `tenantContext(tokenTenant(ctx))`, in
   * the context of the token's organization.
   */
  secured: boolean;
  /** Whether a bearer token is read when there is one (for routes that show more to their own organization). */
  optionalAuth?: true;
  status: number;
  response: z.ZodType;
  /** Statuses this route can answer with a problem. */
  problems: number[];
  handle(input: never, request: RouteRequest, ctx: RouteContext): Promise<unknown>;
}

/** What a route reads from the request besides its input. */
export interface RouteRequest {
  /** The verified token, on secured routes (set by `tenantContext`). */
  auth?: AuthContext;
  /** The client's address, for the login and registration throttles. */
  clientKey?: string;
  /** The `Authorization` header, read by routes with `optionalAuth`. */
  authorization?: string | undefined;
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(body)',
    message: i.message,
  }));
  throw new TenancyError('INVALID_INPUT', 'The request is invalid', { details: { field: issues[0]?.path, issues } });
}

/**
 * How a secured route finds its tenant, for the adapters' `tenantContext`: the caller's organization, named by the
 * verified bearer token alone (`fromToken`: no header, host or path can name another) and looked up through the
 * cached `lookups`. A token that does not verify is its `TOKEN_*` code (401); an organization mid-operation is
 * `TENANT_UNAVAILABLE` (503, with `Retry-After`); one suspended or gone is `TOKEN_REVOKED` (401), as `verify` says.
 */
export function tokenTenant({
  auth,
  lookups,
}: RouteContext): (request: TenantRequest) => Promise<ResolvedTenant | null> {
  const resolve = resolveTenant({ tenants: lookups, auth, resolvers: [fromToken()] });
  return async (request) => {
    // No Authorization header at all: a 401 with a bare `Bearer` challenge (RFC 6750 §3.1), as `requireAuth`
    // answers it, rather than the 404 `tenantContext` gives a request that names no tenant.
    if (request.headers.authorization === undefined) requireBearerToken(undefined);
    let found: ResolvedTenant | null;
    try {
      found = await resolve(request);
    } catch (error) {
      // The token's organization is gone: another process dropped it, and the lookups saw it before `verify` did.
      if (isTenancyError(error, 'TENANT_NOT_FOUND'))
        throw new TenancyError('TOKEN_REVOKED', undefined, { cause: error });
      throw error;
    }
    // Suspended, seen the same way: its tokens are revoked (`verify` says so too once its cache catches up).
    if (found?.tenant.status === 'suspended') throw new TenancyError('TOKEN_REVOKED');
    return found;
  };
}

/** The organization's metadata; the admin's email only for a caller entitled to it (`showEmail`). */
async function metadata(tenant: Tenant, auth: AuthService, showEmail: boolean): Promise<z.infer<typeof s.OrgMetadata>> {
  const admin = showEmail && tenant.adminId ? await auth.getAdmin(tenant.adminId) : null;
  return {
    organization_id: tenant.id,
    organization_name: tenant.name,
    // The same fields under every layout: where the default collection is, and how its documents are told apart.
    storage_layout: tenant.storage.strategy,
    collection_name: tenant.storage.collection,
    database_name: tenant.storage.database,
    tenant_field: tenant.storage.strategy === 'shared' ? tenant.storage.field : null,
    admin_email: admin?.email ?? null,
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
  };
}

/** The organization of an optional bearer token; `null` without a token or with one that does not verify now. */
async function viewerTenantId(request: RouteRequest, auth: AuthService): Promise<string | null> {
  const token = bearerToken(request.authorization);
  if (!token) return null;
  try {
    return (await auth.verify(token)).tenantId;
  } catch (error) {
    if (isTenancyError(error, 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TENANT_UNAVAILABLE')) return null;
    throw error;
  }
}

export const routes: Route[] = [
  {
    method: 'post',
    path: '/org/create',
    summary: 'Create an organization and its admin, all or nothing',
    input: 'body',
    schema: s.CreateOrgBody,
    secured: false,
    status: 201,
    response: s.OrgMetadata,
    problems: [409, 413, 422, 429],
    async handle(input: z.infer<typeof s.CreateOrgBody>, req, { auth }) {
      // EMAIL_TAKEN answers count against the client, as failed logins do.
      const { tenant } = await auth.registerOrganization(
        { name: input.organization_name, email: input.email, password: input.password },
        req.clientKey ? { clientKey: req.clientKey } : {},
      );
      return metadata(tenant, auth, true);
    },
  },
  {
    method: 'get',
    path: '/org/get',
    summary: "Get an organization by name (the admin's email only with a token of that organization)",
    input: 'query',
    schema: s.GetOrgQuery,
    secured: false,
    optionalAuth: true,
    status: 200,
    response: s.OrgMetadata,
    problems: [404, 422],
    async handle(input: z.infer<typeof s.GetOrgQuery>, req, { tenants, auth }) {
      // By name only: an id given as the name is just a name.
      const tenant = await tenants.get({ name: input.organization_name });
      if (!tenant) throw new TenancyError('TENANT_NOT_FOUND');
      return metadata(tenant, auth, (await viewerTenantId(req, auth)) === tenant.id);
    },
  },
  {
    method: 'post',
    path: '/admin/login',
    summary: 'Sign an admin in',
    input: 'body',
    schema: s.LoginBody,
    secured: false,
    status: 200,
    response: s.TokenResponse,
    problems: [401, 413, 422, 429, 503],
    async handle(input: z.infer<typeof s.LoginBody>, req, { auth }) {
      const result = await auth.login({
        email: input.email,
        password: input.password,
        ...(req.clientKey ? { clientKey: req.clientKey } : {}),
      });
      return {
        access_token: result.token,
        token_type: 'bearer',
        expires_in: Math.round((result.expiresAt.getTime() - Date.now()) / 1000),
      };
    },
  },
  {
    method: 'put',
    path: '/org/update',
    summary:
      "Rename the token's organization (and its collection, under the collection layout); change the admin's email or password; all or nothing",
    input: 'body',
    schema: s.UpdateOrgBody,
    secured: true,
    status: 200,
    response: s.OrgMetadata,
    problems: [401, 404, 409, 413, 422, 503],
    async handle(input: z.infer<typeof s.UpdateOrgBody>, req, { auth }) {
      // All or nothing: a 409 or 422 leaves the name, the storage, the email and the password as they were.
      const { tenant } = await auth.updateOrganization(req.auth as AuthContext, {
        name: input.organization_name,
        ...(input.email === undefined ? {} : { email: input.email }),
        ...(input.password === undefined ? {} : { password: input.password }),
      });
      return metadata(tenant, auth, true);
    },
  },
  {
    method: 'delete',
    path: '/org/delete',
    summary: 'Delete an organization (its own admin only)',
    input: 'body-or-query',
    schema: s.DeleteOrgInput,
    secured: true,
    status: 200,
    response: s.DeletedResponse,
    problems: [401, 403, 404, 409, 413, 422, 503],
    async handle(input: z.infer<typeof s.DeleteOrgInput>, req, { auth }) {
      const tenant = await auth.authorize(req.auth as AuthContext, { name: input.organization_name });
      await auth.deleteOrganization(tenant.id);
      return { detail: `Organization '${tenant.name}' deleted` };
    },
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    input: 'none',
    schema: s.HealthResponse.partial(),
    secured: false,
    status: 200,
    response: s.HealthResponse,
    problems: [],
    async handle() {
      return { status: 'ok' };
    },
  },
];

/** Validates a route's input and runs it. */
export function run(route: Route, raw: { body: unknown; query: unknown }, req: RouteRequest, ctx: RouteContext) {
  const source =
    route.input === 'body'
      ? raw.body
      : route.input === 'query'
        ? raw.query
        : route.input === 'none'
          ? {}
          : hasFields(raw.body)
            ? raw.body
            : raw.query;
  return route.handle(parse(route.schema, source) as never, req, ctx);
}

function hasFields(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Object.keys(body).length > 0;
}
