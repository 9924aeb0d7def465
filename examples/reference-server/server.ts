/**
 * Starts the reference server: the database (MONGO_URI, or the embedded
 * development database the tests use too), the TenantManager, its cached
 * TenantLookups and the AuthService, and the Express or Koa app. `close()`
 * stops the server, then the client, then the database.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AuthService,
  collectionPerTenant,
  databasePerTenant,
  isTenancyError,
  type PasswordHasher,
  sharedCollections,
  TenantLookups,
  TenantManager,
  type TenantManagerOptions,
} from 'mongo-tenancy';
import { MongoClient } from 'mongodb';
import { startDevDatabase } from '../shared/dev-database.js';
import type { AppOptions, ServerConfig } from './config.js';
import { ConfigError, DEFAULT_LAYOUT, issueOf } from './config.js';
import { expressApp } from './express-app.js';
import { koaApp } from './koa-app.js';
import type { RouteContext } from './routes.js';

export type Framework = 'express' | 'koa';

export interface RunningServer {
  url: string;
  database: string;
  close(): Promise<void>;
}

/** The library objects the routes use, on a client you own. */
export function routeContext(
  client: MongoClient,
  config: Pick<ServerConfig, 'masterDbName' | 'secretKey' | 'tokenMinutes'> &
    Partial<Pick<ServerConfig, 'tenantLayout' | 'tenantDbPrefix'>>,
  hasher?: PasswordHasher,
): RouteContext {
  let tenants: TenantManager;
  try {
    tenants = new TenantManager({ client, masterDbName: config.masterDbName, ...strategies(config) });
  } catch (error) {
    if (isTenancyError(error, 'INVALID_OPTIONS')) {
      // The master database's name, or a prefix it starts with (databasePerTenant refuses that).
      const variable = error.details.field === 'prefix' ? 'TENANT_DB_PREFIX' : 'MASTER_DB_NAME';
      throw new ConfigError(variable, issueOf(error));
    }
    throw error;
  }
  try {
    const auth = new AuthService({
      tenants,
      tokens: { keys: [{ kid: 'env', alg: 'HS256', secret: config.secretKey }], ttlSeconds: config.tokenMinutes * 60 },
      ...(hasher ? { hasher } : {}),
    });
    return { tenants, auth, lookups: new TenantLookups(tenants) };
  } catch (error) {
    // The one key's secret (`tokens.keys.0.secret`) is SECRET_KEY: a weak or placeholder one stops the start.
    if (isTenancyError(error, 'INVALID_OPTIONS') && error.details.field?.endsWith('.secret')) {
      throw new ConfigError('SECRET_KEY', `is refused: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The manager's layouts (TENANT_LAYOUT): new organizations get the configured one. Organizations keep the layout
 * they were created with, so a server started again with another TENANT_LAYOUT still serves the others; those of
 * the original's layout keep its rename rule: renaming an organization renames its collection.
 */
export function strategies({
  tenantLayout = DEFAULT_LAYOUT,
  tenantDbPrefix,
}: Partial<Pick<ServerConfig, 'tenantLayout' | 'tenantDbPrefix'>>): Pick<TenantManagerOptions, 'strategy' | 'layouts'> {
  const original = collectionPerTenant({ renameStorage: true });
  switch (tenantLayout) {
    case 'collection':
      return { strategy: original };
    case 'database':
      return {
        strategy: databasePerTenant(tenantDbPrefix === undefined ? {} : { prefix: tenantDbPrefix }),
        layouts: [original],
      };
    case 'shared':
      return { strategy: sharedCollections(), layouts: [original] };
  }
}

/** Mounts a framework's app on a route context and listens. */
export function listen(
  framework: Framework,
  ctx: RouteContext,
  port: number,
  host: string,
  options: AppOptions = {},
): Promise<Server> {
  const server = createServer(framework === 'express' ? expressApp(ctx, options) : koaApp(ctx, options).callback());
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => done(server));
  });
}

export async function startServer(
  framework: Framework,
  config: ServerConfig,
  log: (line: string) => void,
): Promise<RunningServer> {
  const embedded = config.mongoUri ? undefined : await startDevDatabase(log);
  const uri = config.mongoUri ?? (embedded?.uri as string);
  const database = config.mongoUri ? 'MONGO_URI' : `embedded ${embedded?.kind}`;
  const client = new MongoClient(uri);
  let ctx: RouteContext;
  try {
    ctx = routeContext(client, config);
  } catch (error) {
    // A configuration error found here (a weak SECRET_KEY, a prefix the master database starts with) stops the
    // start: stop what was started first.
    await client.close();
    await embedded?.stop();
    throw error;
  }
  await ctx.auth.init();
  const server = await listen(framework, ctx, config.port, config.host, { trustProxy: config.trustProxy });
  server.requestTimeout = 30_000;
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
    database,
    async close() {
      await new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      ctx.lookups.close();
      await ctx.auth.close();
      await ctx.tenants.close();
      await client.close();
      await embedded?.stop();
    },
  };
}
