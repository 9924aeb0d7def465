/** The reference server on Koa 3: the same route table, the Koa adapter, /openapi.json and /docs. */
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { problemHandler, tenantContext } from '../koa/index.js';
import { clientAddress } from '../shared/client-address.js';
import { bodyError, noRoute } from './client-errors.js';
import type { AppOptions } from './config.js';
import { openApiDocument } from './openapi.js';
import { type RouteContext, routes, run, tokenTenant } from './routes.js';
import { DOCS_CSP, DOCS_HTML, DOCS_INIT, docsAsset, SECURITY_HEADERS } from './web.js';

export function koaApp(ctx: RouteContext, options: AppOptions = {}): Koa {
  const app = new Koa();
  app.proxy = false;
  const clientKey = clientAddress(options.trustProxy ?? false); // one rule for both frameworks, not `app.proxy`
  app.silent = true; // problemHandler logs what is unexpected
  const router = new Router();
  const secured = tenantContext(tokenTenant(ctx));
  for (const route of routes) {
    router[route.method](route.path, ...(route.secured ? [secured] : []), async (koa) => {
      const result = await run(
        route,
        { body: (koa.request as { body?: unknown }).body, query: koa.query },
        {
          ...(koa.state.auth ? { auth: koa.state.auth } : {}),
          clientKey: clientKey(koa.req),
          authorization: koa.get('authorization'),
        },
        ctx,
      );
      koa.status = route.status;
      koa.body = result;
    });
  }
  router.get('/openapi.json', (koa) => {
    koa.body = openApiDocument();
  });
  router.get('/docs', (koa) => {
    koa.set('content-security-policy', DOCS_CSP);
    koa.type = 'html';
    koa.body = DOCS_HTML;
  });
  router.get('/docs/init.js', (koa) => {
    koa.type = 'application/javascript';
    koa.body = DOCS_INIT;
  });
  router.get('/docs/assets/:name', async (koa) => {
    const asset = await docsAsset(koa.params.name ?? '');
    if (!asset) return; // left unanswered: a 404 below
    koa.type = asset.type;
    koa.set('cache-control', 'public, max-age=3600');
    koa.body = asset.body;
  });
  app.use(async (koa, next) => {
    koa.set(SECURITY_HEADERS);
    await next();
  });
  app.use(problemHandler({ log: options.log }));
  app.use(async (koa, next) => {
    await next();
    // Nothing answered: no route for this path (404), or none for this method (405, `Allow` set by the router).
    if (koa.body === undefined || koa.body === null) throw noRoute(koa.status === 405 ? 405 : 404);
  });
  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: '16kb',
      parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
      onError: (error) => {
        throw bodyError(error); // 413, 415 or INVALID_INPUT, as on Express
      },
    }),
  );
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
