/**
 * Express 5 adapter: `requireAuth(auth)` verifies the bearer token and sets
 * `req.auth`; `problemHandler()` sends every error as
 * `application/problem+json`. A few dozen lines over the library's
 * framework-agnostic core.
 */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import {
  type AuthContext,
  type AuthService,
  PROBLEM_CONTENT_TYPE,
  requireBearerToken,
  TenancyError,
} from 'mongo-tenancy';
import { problemFor } from '../shared/problem.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by `requireAuth` for authenticated routes. */
      auth?: AuthContext;
    }
  }
}

/** Verifies `Authorization: Bearer <token>` and sets `req.auth`; errors go to `problemHandler`. */
export function requireAuth(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    try {
      req.auth = await auth.verify(requireBearerToken(req.headers.authorization));
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** `req.auth` on a route behind `requireAuth`, typed, without a cast. */
export function authOf(req: Request): AuthContext {
  if (!req.auth) throw new TenancyError('TOKEN_INVALID', 'A bearer token is required');
  return req.auth;
}

/** Sends errors as RFC 9457 problems; logs the unexpected ones (and only those). */
export function problemHandler(log: (error: unknown) => void = console.error): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const problem = problemFor(error);
    if (!problem.expected) log(error);
    res.status(problem.status).set(problem.headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.body));
  };
}
