/**
 * Configuration from the environment, with the original service's names:
 * MONGO_URI, MASTER_DB_NAME, SECRET_KEY, ALGORITHM, ACCESS_TOKEN_EXPIRE_MINUTES,
 * plus PORT (default 8000), HOST (default 127.0.0.1), TRUST_PROXY (default off), TENANT_LAYOUT (default
 * `collection`, the original's), TENANT_DB_PREFIX (with TENANT_LAYOUT=database only) and NODE_ENV. A `.env` file is
 * read when present. Outside development a missing or weak SECRET_KEY stops the start, naming it; so does any
 * invalid value, naming its variable.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  databasePerTenant,
  isTenancyError,
  MIN_SECRET_BYTES,
  type StorageKind,
  type TenancyError,
} from 'mongo-tenancy';
import { clientAddress, type TrustProxy } from '../shared/client-address.js';
import { StorageLayout } from './schemas.js';

export interface ServerConfig {
  mongoUri: string | undefined;
  masterDbName: string;
  secretKey: string;
  /** Where the secret came from; a generated one lasts until the process stops. */
  secretSource: 'env' | 'generated';
  tokenMinutes: number;
  port: number;
  /** The interface to listen on (HOST). Default 127.0.0.1. */
  host: string;
  /** Which proxies' `X-Forwarded-For` to believe for the client's address (TRUST_PROXY). Default `false`: none. */
  trustProxy: TrustProxy;
  /** The layout of new organizations' storage (TENANT_LAYOUT). Default `collection`: a collection each. */
  tenantLayout: StorageKind;
  /**
   * The start of each organization database's name under the `database` layout (TENANT_DB_PREFIX); `undefined`
   * for the library's default, `tenant_`.
   */
  tenantDbPrefix: string | undefined;
}

/** What the Express and Koa apps take besides the route context. */
export interface AppOptions {
  /** Called with each unexpected error (a 500); default `console.error`. */
  log?: (error: unknown) => void;
  /** Default `false`: the client is the socket's peer. */
  trustProxy?: TrustProxy;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, envFile = '.env'): ServerConfig {
  if (env === process.env && existsSync(envFile)) process.loadEnvFile(envFile);
  const development = (env.NODE_ENV ?? 'development') === 'development';
  const algorithm = env.ALGORITHM ?? 'HS256';
  if (algorithm !== 'HS256') throw new ConfigError('ALGORITHM', 'only HS256 is supported with SECRET_KEY');
  const minutes = Number(env.ACCESS_TOKEN_EXPIRE_MINUTES ?? 30);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    throw new ConfigError('ACCESS_TOKEN_EXPIRE_MINUTES', 'must be a whole number of minutes from 1 to 1440');
  }
  const port = Number(env.PORT ?? 8000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('PORT', 'must be a port number');
  let secretKey = env.SECRET_KEY;
  let secretSource: ServerConfig['secretSource'] = 'env';
  if (!secretKey) {
    if (!development)
      throw new ConfigError(
        'SECRET_KEY',
        `is required outside development (at least ${MIN_SECRET_BYTES} random bytes)`,
      );
    secretKey = randomBytes(32).toString('base64url');
    secretSource = 'generated';
  }
  return {
    mongoUri: env.MONGO_URI || undefined,
    masterDbName: env.MASTER_DB_NAME || 'org_master_db',
    secretKey,
    secretSource,
    tokenMinutes: minutes,
    port,
    host: env.HOST || '127.0.0.1',
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    ...parseLayout(env.TENANT_LAYOUT, env.TENANT_DB_PREFIX),
  };
}

/** The values of TENANT_LAYOUT: the library's layout names, as responses show them (`storage_layout`). */
export const TENANT_LAYOUTS: readonly StorageKind[] = StorageLayout.options;
/** The original service's layout: a collection per organization. */
export const DEFAULT_LAYOUT: StorageKind = 'collection';

/**
 * TENANT_LAYOUT: `collection` (unset or empty), `database` or `shared`. TENANT_DB_PREFIX: only with `database`,
 * checked by `databasePerTenant` itself (1 to 15 of `[a-z0-9_-]`, starting with a letter).
 */
export function parseLayout(layout = '', prefix = ''): Pick<ServerConfig, 'tenantLayout' | 'tenantDbPrefix'> {
  const text = layout.trim() || DEFAULT_LAYOUT;
  const tenantLayout = TENANT_LAYOUTS.find((name) => name === text);
  if (!tenantLayout) throw new ConfigError('TENANT_LAYOUT', `must be one of ${TENANT_LAYOUTS.join(', ')}`);
  const tenantDbPrefix = prefix?.trim() || undefined;
  if (tenantDbPrefix === undefined) return { tenantLayout, tenantDbPrefix };
  if (tenantLayout !== 'database') {
    throw new ConfigError('TENANT_DB_PREFIX', 'applies only with TENANT_LAYOUT=database');
  }
  try {
    databasePerTenant({ prefix: tenantDbPrefix });
  } catch (error) {
    if (isTenancyError(error, 'INVALID_OPTIONS')) throw new ConfigError('TENANT_DB_PREFIX', issueOf(error));
    throw error;
  }
  return { tenantLayout, tenantDbPrefix };
}

/** What is wrong, from a library validation error: its first issue, without the option's path. */
export function issueOf(error: TenancyError): string {
  return error.details.issues?.[0]?.message ?? error.message;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: unset, empty, `false` or `0` for off; a whole number of hops; or a comma-separated list of proxy
 * addresses, CIDRs (`10.0.0.0/8`) and `loopback` / `linklocal` / `uniquelocal`. `true` (believe every hop, so the
 * client picks its own address) is refused.
 */
export function parseTrustProxy(value = ''): TrustProxy {
  const text = value.trim();
  if (text === '' || text === 'false') return false;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (!Number.isSafeInteger(hops)) throw new ConfigError('TRUST_PROXY', 'is not a usable hop count');
    return hops === 0 ? false : hops;
  }
  if (text === 'true') {
    throw new ConfigError('TRUST_PROXY', 'true would let any client choose its address: give a hop count or addresses');
  }
  const proxies = text.split(',').map((entry) => entry.trim());
  for (const entry of proxies) {
    const [address = '', bits, ...rest] = entry.split('/');
    const range = bits === undefined || /^\d+$/.test(bits) || isIP(bits) !== 0; // a prefix length or a netmask
    const valid = PROXY_NAMES.has(entry) || (isIP(address) !== 0 && range && rest.length === 0);
    if (!valid) {
      throw new ConfigError('TRUST_PROXY', `"${entry}" is not a hop count, an IP address, a CIDR or a range name`);
    }
  }
  try {
    clientAddress(proxies); // proxy-addr checks the ranges it will use
  } catch (error) {
    throw new ConfigError('TRUST_PROXY', error instanceof Error ? error.message : String(error));
  }
  return proxies;
}
