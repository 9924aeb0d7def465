/**
 * Koa 3 adapter for mongo-tenancy. **Copy this file** into your app: it
 * depends only on `koa` and on the package's public exports, and the
 * Express adapter (`examples/express/index.ts`) has the same shape.
 *
 * - `requireAuth(auth)` verifies `Authorization: Bearer <token>` and sets
 *   `ctx.state.auth` (the {@link AuthContext}) and `ctx.state.tenant` (the
 *   caller's own {@link Tenant}, ready for `tenants.scope(ctx.state.tenant)`),
 *   typed through {@link AuthState} (`new Router<AuthState>()`);
 * - `problemHandler()`, mounted first, sends every error below it as an RFC
 *   9457 `application/problem+json` response through the library's `toProblem`;
 * - `authOf(ctx)` / `tenantOf(ctx)` read them where the state is not typed.
 *
 * The tenant record is read once per tenant and reused for `tenantCacheMs`
 * (default 5 s, the AuthService's default `revocationCacheMs`) from a small
 * Map of at most `tenantCacheSize` tenants, so a repeated request costs no
 * registry read: `auth.verify` still checks on every request (through its
 * own cache) that the token is not revoked and the organization is active.
 * Nothing else invalidates that cache: for up to `tenantCacheMs` after a
 * rename or a metadata update made anywhere, `ctx.state.tenant` may show the
 * old name and metadata, and after a rename with `renameStorage` its storage
 * is the old one (whose tombstone refuses inserts; see docs/tenants.md). Set
 * `tenantCacheMs: 0` for a fresh record on every request.
 */
import type { Middleware } from 'koa';
import {
  type AuthContext,
  type AuthService,
  PROBLEM_CONTENT_TYPE,
  type ProblemResponse,
  type ResolvedTenant,
  requireActive,
  requireBearerToken,
  runWithTenant,
  TenancyError,
  type Tenant,
  type TenantRequest,
  toProblem,
} from 'mongo-tenancy';

/** The state {@link requireAuth} sets: route handlers after it read `ctx.state.auth` and `ctx.state.tenant`, typed. */
export interface AuthState {
  /** The verified token. */
  auth: AuthContext;
  /** The token's own organization (active when the request began). */
  tenant: Tenant;
}

/** Options of {@link requireAuth}. */
export interface RequireAuthOptions {
  /** How long a tenant record is reused, in ms (0 to 60,000; 0 reads it on every request). Default 5,000. */
  tenantCacheMs?: number;
  /** The most tenants kept (1 to 100,000); the oldest entry goes first. Default 1,000. */
  tenantCacheSize?: number;
}

/** Options of {@link problemHandler}. */
export interface ProblemHandlerOptions {
  /** Called with each unexpected error (a 500 or a 503 from the database). Default `console.error`. */
  log?: (error: unknown) => void;
  /** How an error becomes a response. Default the library's `toProblem`. */
  toProblem?: (error: unknown) => ProblemResponse;
}

/**
 * Verifies `Authorization: Bearer <token>`, then sets `ctx.state.auth` and
 * `ctx.state.tenant`; errors go to {@link problemHandler}. Create it once and
 * reuse it: each call has its own tenant cache.
 *
 * @example
 * ```ts
 * router.get('/orders', requireAuth(auth), async (ctx) => {
 *   ctx.body = await tenants.scope(ctx.state.tenant).collection('orders').find().toArray();
 * });
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` for an option out of range, at once. Requests fail with
 * `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `TENANT_UNAVAILABLE` or `STORAGE`.
 */
export function requireAuth(auth: AuthService, options: RequireAuthOptions = {}): Middleware<AuthState> {
  const tenantOfToken = tenantCache(auth, options);
  return async (ctx, next) => {
    const verified = await auth.verify(requireBearerToken(ctx.get('authorization')));
    ctx.state.tenant = await tenantOfToken(verified);
    ctx.state.auth = verified;
    await next();
  };
}

/** The state {@link tenantContext} sets: the request's tenant, and the verified token when there was one. */
export interface TenantState {
  tenant: Tenant;
  auth: AuthContext | undefined;
}

/**
 * Resolves the request's tenant with `resolve` (from `resolveTenant`), then
 * runs the rest of the request inside its tenant context: `tenants.scope()`
 * and `currentTenant()` give that tenant in every middleware after this one.
 * Sets `ctx.state.tenant`, and `ctx.state.auth` when the request carried a
 * verified token. A request that names no tenant is `TENANT_NOT_FOUND` (404),
 * as is one naming a tenant that does not exist; a suspended or
 * mid-operation tenant is `TENANT_UNAVAILABLE` (503); a header, host or path
 * naming another tenant than the token's is `FORBIDDEN` (403).
 *
 * @example
 * ```ts
 * const resolve = resolveTenant({ tenants: lookups, auth, resolvers: [fromToken(), fromHost(lookups)] });
 * router.use(tenantContext(resolve));
 * router.get('/orders', async (ctx) => { ctx.body = await tenants.scope().collection('orders').find().toArray(); });
 * ```
 * @throws The codes above, `TOKEN_*`, `INVALID_INPUT` or `STORAGE`, to the error middleware.
 */
export function tenantContext(
  resolve: (request: TenantRequest) => Promise<ResolvedTenant | null>,
): Middleware<TenantState> {
  return async (ctx, next) => {
    const found = await resolve({
      method: ctx.method,
      path: ctx.path,
      headers: ctx.headers,
      host: ctx.get('host') || undefined,
    });
    const tenant = requireActive(found?.tenant ?? null);
    ctx.state.tenant = tenant;
    ctx.state.auth = found?.auth;
    await runWithTenant(tenant, () => next());
  };
}

/**
 * `ctx.state.auth` behind {@link requireAuth}, where the state is not typed.
 *
 * @example
 * ```ts
 * const { adminId } = authOf(ctx);
 * ```
 * @throws {@link TenancyError} `TOKEN_INVALID` on a route without `requireAuth`.
 */
export function authOf(ctx: { state: Partial<AuthState> }): AuthContext {
  if (!ctx.state.auth) throw new TenancyError('TOKEN_INVALID', 'A bearer token is required');
  return ctx.state.auth;
}

/**
 * `ctx.state.tenant` behind {@link requireAuth}, where the state is not typed.
 *
 * @example
 * ```ts
 * const orders = tenants.scope(tenantOf(ctx)).collection('orders');
 * ```
 * @throws {@link TenancyError} `TOKEN_INVALID` on a route without `requireAuth`.
 */
export function tenantOf(ctx: { state: Partial<AuthState> }): Tenant {
  if (!ctx.state.tenant) throw new TenancyError('TOKEN_INVALID', 'A bearer token is required');
  return ctx.state.tenant;
}

/**
 * Catches every error below it, sends it as an RFC 9457 problem and logs the
 * unexpected ones (and only those). Mount it first.
 *
 * @example
 * ```ts
 * app.use(problemHandler({ log: (error) => logger.error(error) }));
 * ```
 * @throws Nothing: every error becomes a response.
 */
export function problemHandler(options: ProblemHandlerOptions = {}): Middleware {
  const { log = console.error, toProblem: problemOf = toProblem } = options;
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const problem = problemOf(error);
      if (!problem.expected) log(error);
      ctx.status = problem.status;
      ctx.set(problem.headers);
      ctx.type = PROBLEM_CONTENT_TYPE;
      ctx.body = JSON.stringify(problem.body);
    }
  };
}

/** The token's tenant, read through `auth.tenants` at most once per `tenantCacheMs`; concurrent misses share one read. */
function tenantCache(auth: AuthService, options: RequireAuthOptions): (ctx: AuthContext) => Promise<Tenant> {
  const ttl = bounded(options.tenantCacheMs, 5_000, 0, 60_000, 'tenantCacheMs');
  const size = bounded(options.tenantCacheSize, 1_000, 1, 100_000, 'tenantCacheSize');
  const entries = new Map<string, { tenant: Promise<Tenant>; until: number }>();
  return (ctx) => {
    const now = Date.now();
    const hit = entries.get(ctx.tenantId);
    if (hit && hit.until > now) return hit.tenant;
    const tenant = activeTenant(auth, ctx.tenantId);
    if (ttl > 0) {
      entries.delete(ctx.tenantId);
      if (entries.size >= size) entries.delete(entries.keys().next().value as string);
      const entry = { tenant, until: now + ttl };
      entries.set(ctx.tenantId, entry);
      tenant.catch(() => {
        if (entries.get(ctx.tenantId) === entry) entries.delete(ctx.tenantId); // a failure is not kept
      });
    }
    return tenant;
  };
}

/** The token's tenant, which `verify` has just found active; changed since (a race), the token is refused as `verify` would. */
async function activeTenant(auth: AuthService, tenantId: string): Promise<Tenant> {
  const tenant = await auth.tenants.get(tenantId);
  if (tenant?.status === 'active') return tenant;
  if (!tenant || tenant.status === 'suspended') throw new TenancyError('TOKEN_REVOKED');
  throw new TenancyError('TENANT_UNAVAILABLE', undefined, { details: { retryAfter: 1 } });
}

function bounded(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  const n = value ?? fallback;
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  throw new TenancyError('INVALID_OPTIONS', `${name} must be an integer from ${min} to ${max}`, {
    details: { field: name },
  });
}
