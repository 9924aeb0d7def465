/**
 * The reference server's routes, once, for every framework: what each
 * route reads, how it is validated, and what it does with the library.
 * The Express and Koa apps only mount this table.
 */
import { type AuthContext, type AuthService, TenancyError, type Tenant, type TenantManager } from 'mongo-tenancy';
import type { z } from 'zod';
import * as s from './schemas.js';

export interface RouteContext {
  tenants: TenantManager;
  auth: AuthService;
}

export interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  /** Where the input comes from: the JSON body, the query string, or either (body first). */
  input: 'body' | 'query' | 'body-or-query' | 'none';
  schema: z.ZodType;
  /** Whether a bearer token is required. */
  secured: boolean;
  status: number;
  response: z.ZodType;
  /** Statuses this route can answer with a problem. */
  problems: number[];
  handle(input: never, request: { auth?: AuthContext; clientKey?: string }, ctx: RouteContext): Promise<unknown>;
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

async function metadata(tenant: Tenant, auth: AuthService): Promise<z.infer<typeof s.OrgMetadata>> {
  const admin = tenant.adminId ? await auth.getAdmin(tenant.adminId) : null;
  return {
    organization_id: tenant.id,
    organization_name: tenant.name,
    collection_name: tenant.storage.collection,
    database_name: tenant.storage.database,
    admin_email: admin?.email ?? null,
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
  };
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
    problems: [409, 413, 422],
    async handle(input: z.infer<typeof s.CreateOrgBody>, _req, { auth }) {
      const { tenant } = await auth.registerOrganization({
        name: input.organization_name,
        email: input.email,
        password: input.password,
      });
      return metadata(tenant, auth);
    },
  },
  {
    method: 'get',
    path: '/org/get',
    summary: 'Get an organization by name',
    input: 'query',
    schema: s.GetOrgQuery,
    secured: false,
    status: 200,
    response: s.OrgMetadata,
    problems: [404, 422],
    async handle(input: z.infer<typeof s.GetOrgQuery>, _req, { tenants, auth }) {
      const tenant = await tenants.get({ name: input.organization_name });
      if (!tenant) throw new TenancyError('TENANT_NOT_FOUND');
      return metadata(tenant, auth);
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
    problems: [401, 413, 422, 429],
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
    summary: "Rename the token's organization (and its storage); change the admin's email or password",
    input: 'body',
    schema: s.UpdateOrgBody,
    secured: true,
    status: 200,
    response: s.OrgMetadata,
    problems: [401, 404, 409, 413, 422],
    async handle(input: z.infer<typeof s.UpdateOrgBody>, req, { tenants, auth }) {
      const ctx = req.auth as AuthContext;
      if (input.password !== undefined) auth.checkPassword(input.password);
      const own = await auth.authorize(ctx, { id: ctx.tenantId });
      const renamed =
        own.name === input.organization_name ? own : await tenants.rename(own.id, input.organization_name);
      if (input.email !== undefined) await auth.changeEmail(ctx.adminId, input.email);
      if (input.password !== undefined) await auth.changePassword(ctx.adminId, input.password);
      return metadata(renamed, auth);
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
    problems: [401, 403, 404, 422],
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
export function run(
  route: Route,
  raw: { body: unknown; query: unknown },
  req: { auth?: AuthContext; clientKey?: string },
  ctx: RouteContext,
) {
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
