/** The reference server on Express 5: the route table, the adapter, /openapi.json and /docs. */
import express, { type Express } from 'express';
import { authOf, problemHandler, tenantContext } from '../express/index.js';
import { clientAddress } from '../shared/client-address.js';
import { bodyError, noRoute } from './client-errors.js';
import type { AppOptions } from './config.js';
import { openApiDocument } from './openapi.js';
import { type RouteContext, routes, run, tokenTenant } from './routes.js';
import { DOCS_CSP, DOCS_HTML, DOCS_INIT, docsAsset, SECURITY_HEADERS } from './web.js';

export function expressApp(ctx: RouteContext, options: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  const clientKey = clientAddress(options.trustProxy ?? false); // one rule for both frameworks, not `trust proxy`
  app.set('query parser', 'simple'); // no nested objects from the query string
  app.use((_req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  });
  const json = express.json({ limit: '16kb', strict: true });
  // What the parser cannot read becomes the error to answer (413, 415 or INVALID_INPUT), as on Koa.
  app.use((req, res, next) =>
    json(req, res, (error?: unknown) => next(error === undefined ? undefined : bodyError(error))),
  );
  const secured = tenantContext(tokenTenant(ctx));
  for (const route of routes) {
    app[route.method](route.path, ...(route.secured ? [secured] : []), async (req, res) => {
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
  app.use((_req, _res, next) => next(noRoute()));
  app.use(problemHandler({ log: options.log }));
  return app;
}
