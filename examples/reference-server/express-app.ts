/** The reference server on Express 5: the route table, the adapter, /openapi.json and /docs. */
import express, { type Express } from 'express';
import { PROBLEM_CONTENT_TYPE } from 'mongo-tenancy';
import { authOf, problemHandler, requireAuth } from '../express/index.js';
import { clientAddress } from '../shared/client-address.js';
import type { AppOptions } from './config.js';
import { openApiDocument } from './openapi.js';
import { problemFor } from './problem.js';
import { type RouteContext, routes, run } from './routes.js';
import { DOCS_CSP, DOCS_HTML, DOCS_INIT, docsAsset, NOT_FOUND_BODY, SECURITY_HEADERS } from './web.js';

export function expressApp(ctx: RouteContext, options: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  const clientKey = clientAddress(options.trustProxy ?? false); // one rule for both frameworks, not `trust proxy`
  app.set('query parser', 'simple'); // no nested objects from the query string
  app.use((_req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  });
  app.use(express.json({ limit: '16kb', strict: true }));
  const guard = requireAuth(ctx.auth);
  for (const route of routes) {
    app[route.method](route.path, ...(route.secured ? [guard] : []), async (req, res) => {
      const auth = route.secured ? authOf(req) : undefined;
      const result = await run(
        route,
        { body: req.body, query: req.query },
        { ...(auth ? { auth } : {}), clientKey: clientKey(req), authorization: req.headers.authorization },
        ctx,
      );
      res.status(route.status).json(result);
    });
  }
  app.get('/openapi.json', (_req, res) => void res.json(openApiDocument()));
  app.get('/docs', (_req, res) => void res.set('content-security-policy', DOCS_CSP).type('html').send(DOCS_HTML));
  app.get('/docs/init.js', (_req, res) => void res.type('application/javascript').send(DOCS_INIT));
  app.get('/docs/assets/:name', async (req, res, next) => {
    const asset = await docsAsset(req.params.name);
    if (!asset) return next();
    res.type(asset.type).set('cache-control', 'public, max-age=3600').send(asset.body);
  });
  app.use((_req, res) => void res.status(404).type(PROBLEM_CONTENT_TYPE).send(NOT_FOUND_BODY));
  app.use(problemHandler({ log: options.log, toProblem: problemFor }));
  return app;
}
