/**
 * Koa 3 adapter: `requireAuth(auth)` verifies the bearer token and sets
 * `ctx.state.auth`; `problemHandler()` (mount it first) sends every error as
 * `application/problem+json`.
 */
import type { Middleware } from 'koa';
import { type AuthContext, type AuthService, PROBLEM_CONTENT_TYPE, requireBearerToken } from 'mongo-tenancy';
import { problemFor } from '../shared/problem.js';

/** The state `requireAuth` adds: route handlers after it read `ctx.state.auth`, typed. */
export interface AuthState {
  auth: AuthContext;
}

/** Verifies `Authorization: Bearer <token>` and sets `ctx.state.auth`. */
export function requireAuth(auth: AuthService): Middleware<AuthState> {
  return async (ctx, next) => {
    ctx.state.auth = await auth.verify(requireBearerToken(ctx.get('authorization')));
    await next();
  };
}

/** Catches every error below it and sends it as an RFC 9457 problem; logs the unexpected ones. */
export function problemHandler(log: (error: unknown) => void = console.error): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const problem = problemFor(error);
      if (!problem.expected) log(error);
      ctx.status = problem.status;
      ctx.set(problem.headers);
      ctx.type = PROBLEM_CONTENT_TYPE;
      ctx.body = JSON.stringify(problem.body);
    }
  };
}
