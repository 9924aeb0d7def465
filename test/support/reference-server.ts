/** The reference server on the test database, on a free port, for end-to-end tests over real HTTP. */
import type { AddressInfo } from 'node:net';
import type { MongoClient } from 'mongodb';
import type { AppOptions, ServerConfig } from '../../examples/reference-server/config.js';
import { type Framework, listen, routeContext } from '../../examples/reference-server/server.js';
import { bcryptHasher } from '../../src/index.js';
import { strongSecret } from './auth.js';

/** TENANT_LAYOUT and TENANT_DB_PREFIX, as the server reads them; default the original's, a collection each. */
export type ReferenceLayout = Partial<Pick<ServerConfig, 'tenantLayout' | 'tenantDbPrefix'>>;

/**
 * A server on `masterDbName`. Under the `database` layout, give a `tenantDbPrefix` from `useTestClient().dbPrefix()`
 * so that the organizations' databases are dropped with the file's.
 */
export async function startReference(
  framework: Framework,
  client: MongoClient,
  masterDbName: string,
  options: AppOptions = {},
  layout: ReferenceLayout = {},
) {
  const ctx = routeContext(
    client,
    { masterDbName, secretKey: strongSecret(), tokenMinutes: 30, ...layout },
    bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
  );
  await ctx.auth.init();
  const server = await listen(framework, ctx, 0, '127.0.0.1', options);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...ctx,
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** A JSON request; returns status, headers and the parsed body. */
export async function call(
  url: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] ??= 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(options.raw !== undefined
      ? { body: options.raw }
      : options.body !== undefined
        ? { body: JSON.stringify(options.body) }
        : {}),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  // biome-ignore lint/suspicious/noExplicitAny: tests read fields of arbitrary JSON responses
  return { status: response.status, headers: response.headers, body: body as Record<string, any> };
}
