/**
 * Express 5 adapter for mongo-tenancy. **Copy this file** into your app: it
 * depends only on `express` and on the package's public exports, and the
 * Koa adapter (`examples/koa/index.ts`) has the same shape.
 *
 * - `requireAuth(auth)` verifies `Authorization: Bearer <token>` and sets
 *   `req.auth` (the {@link AuthContext}) and `req.tenant` (the caller's own
 *   {@link Tenant}, ready for `tenants.scope(req.tenant)`);
 * - `problemHandler()`, mounted last, sends every error as an RFC 9457
 *   `application/problem+json` response through the library's `toProblem`;
 * - `authOf(req)` / `tenantOf(req)` read them, typed, without a cast.
 *
 * The tenant record is read once per tenant and reused for `tenantCacheMs`
 * (default 5 s, the AuthService's default `revocationCacheMs`) from a small
 * Map of at most `tenantCacheSize` tenants, so a repeated request costs no
 * registry read: `auth.verify` still checks on every request (through its
 * own cache) that the token is not revoked and the organization is active.
 * Nothing else invalidates that cache: for up to `tenantCacheMs` after a
 * rename or a metadata update made anywhere, `req.tenant` may show the old
 * name and metadata, and after a rename with `renameStorage` its storage is
 * the old one (whose tombstone refuses inserts; see docs/tenants.md). Set
 * `tenantCacheMs: 0` for a fresh record on every request.
 */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
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

declare global {
  namespace Express {
    interface Request {
      /** The verified token, set by `requireAuth`. */
      auth?: AuthContext;
      /** The token's own organization (active when the request began), set by `requireAuth`. */
      tenant?: Tenant;
    }
  }
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
 * Verifies `Authorization: Bearer <token>`, then sets `req.auth` and
 * `req.tenant`; errors go to {@link problemHandler}. Create it once and reuse
 * it: each call has its own tenant cache.
 *
 * @example
 * ```ts
 * app.get('/orders', requireAuth(auth), async (req, res) => {
 *   res.json(await tenants.scope(tenantOf(req)).collection('orders').find().toArray());
 * });
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` for an option out of range, at once. Requests fail (through `next`) with `TOKEN_INVALID`,
 * `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `TENANT_UNAVAILABLE` or `STORAGE`.
 */
export function requireAuth(auth: AuthService, options: RequireAuthOptions = {}): RequestHandler {
  const tenantOfToken = tenantCache(auth, options);
  return async (req, _res, next) => {
    try {
      const ctx = await auth.verify(requireBearerToken(req.headers.authorization));
      req.tenant = await tenantOfToken(ctx);
      req.auth = ctx;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * Resolves the request's tenant with `resolve` (from `resolveTenant`), then
 * runs the rest of the request inside its tenant context: `tenants.scope()`
 * and `currentTenant()` give that tenant in every handler after this one.
 * Sets `req.tenant`, and `req.auth` when the request carried a verified token.
 * A request that names no tenant is `TENANT_NOT_FOUND` (404), as is one
 * naming a tenant that does not exist; a suspended or mid-operation tenant
 * is `TENANT_UNAVAILABLE` (503); a header, host or path naming another
 * tenant than the token's is `FORBIDDEN` (403).
 *
 * @example
 * ```ts
 * const resolve = resolveTenant({ tenants: lookups, auth, resolvers: [fromToken(), fromHost(lookups)] });
 * app.use('/api', tenantContext(resolve));
 * app.get('/api/orders', async (_req, res) => res.json(await tenants.scope().collection('orders').find().toArray()));
 * ```
 * @throws Nothing at once; requests fail (through `next`) with the codes above, `TOKEN_*`, `INVALID_INPUT` or `STORAGE`.
 */
export function tenantContext(resolve: (request: TenantRequest) => Promise<ResolvedTenant | null>): RequestHandler {
  return async (req, _res, next) => {
    let tenant: Tenant;
    try {
      const path = req.originalUrl.split('?')[0] ?? '/';
      const found = await resolve({ method: req.method, path, headers: req.headers, host: req.headers.host });
      tenant = requireActive(found?.tenant ?? null);
      req.tenant = tenant;
      req.auth = found?.auth;
    } catch (error) {
      next(error);
      return;
    }
    runWithTenant(tenant, () => next());
  };
}

/**
 * `req.auth` on a route behind {@link requireAuth}, typed.
 *
 * @example
 * ```ts
 * const { adminId } = authOf(req);
 * ```
 * @throws {@link TenancyError} `TOKEN_INVALID` on a route without `requireAuth`.
 */
export function authOf(req: Request): AuthContext {
  if (!req.auth) throw new TenancyError('TOKEN_INVALID', 'A bearer token is required');
  return req.auth;
}

/**
 * `req.tenant` on a route behind {@link requireAuth}, typed.
 *
 * @example
 * ```ts
 * const orders = tenants.scope(tenantOf(req)).collection('orders');
 * ```
 * @throws {@link TenancyError} `TOKEN_INVALID` on a route without `requireAuth`.
 */
export function tenantOf(req: Request): Tenant {
  if (!req.tenant) throw new TenancyError('TOKEN_INVALID', 'A bearer token is required');
  return req.tenant;
}

/**
 * Sends every error as an RFC 9457 problem and logs the unexpected ones
 * (and only those). Mount it after every route.
 *
 * @example
 * ```ts
 * app.use(problemHandler({ log: (error) => logger.error(error) }));
 * ```
 * @throws Nothing: every error becomes a response.
 */
export function problemHandler(options: ProblemHandlerOptions = {}): ErrorRequestHandler {
  const { log = console.error, toProblem: problemOf = toProblem } = options;
  return (error, _req, res, _next) => {
    const problem = problemOf(error);
    if (!problem.expected) log(error);
    res.status(problem.status).set(problem.headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.body));
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
