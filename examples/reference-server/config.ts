/**
 * Configuration from the environment, with the original service's names:
 * MONGO_URI, MASTER_DB_NAME, SECRET_KEY, ALGORITHM, ACCESS_TOKEN_EXPIRE_MINUTES,
 * plus PORT, HOST, TRUST_PROXY, TENANT_LAYOUT, TENANT_DB_PREFIX (with TENANT_LAYOUT=database only) and NODE_ENV,
 * parsed by one zod schema ({@link ServerEnv}) into a {@link ServerConfig}; each default is written there, once. A
 * `.env` file is read when present. An empty variable counts as unset, except NODE_ENV, which means development only
 * when unset. Outside development a missing SECRET_KEY stops the start, naming it; so does any invalid value, naming
 * its variable.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  DEFAULT_MASTER_DB_NAME,
  databasePerTenant,
  isTenancyError,
  MIN_SECRET_BYTES,
  STORAGE_KINDS,
  type StorageKind,
  type TenancyError,
} from 'mongo-tenancy';
import { z } from 'zod';
import { clientAddress, type TrustProxy } from '../shared/client-address.js';

/** The server's configuration, resolved: every default applied, every value checked. */
export interface ServerConfig {
  /** MONGO_URI; `undefined` for the embedded development database. */
  mongoUri: string | undefined;
  /** MASTER_DB_NAME. Default the library's, `org_master_db`. */
  masterDbName: string;
  /** SECRET_KEY, the HS256 signing secret (its strength is checked by the AuthService, at start). */
  secretKey: string;
  /** Where the secret came from; a generated one lasts until the process stops. */
  secretSource: 'env' | 'generated';
  /** ACCESS_TOKEN_EXPIRE_MINUTES, 1 to 1,440. Default 30. */
  tokenMinutes: number;
  /** PORT. Default 8000. */
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

/** The original service's layout: a collection per organization. */
export const DEFAULT_LAYOUT: StorageKind = 'collection';

/** An empty variable is as unset. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);
/** The same, for the variables read without their surrounding spaces. */
const trimmed = (value: unknown) => (typeof value === 'string' ? unsetIfEmpty(value.trim()) : value);

function wholeNumber(min: number, max: number, message: string) {
  return z.coerce
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message });
}

/** The environment, checked, with every default. */
export const ServerEnv = z
  .object({
    NODE_ENV: z.string().default('development'),
    MONGO_URI: z.preprocess(unsetIfEmpty, z.string().optional()),
    MASTER_DB_NAME: z.preprocess(unsetIfEmpty, z.string().default(DEFAULT_MASTER_DB_NAME)),
    SECRET_KEY: z.preprocess(unsetIfEmpty, z.string().optional()),
    ALGORITHM: z.preprocess(
      trimmed,
      z.literal('HS256', { error: 'only HS256 is supported with SECRET_KEY' }).default('HS256'),
    ),
    ACCESS_TOKEN_EXPIRE_MINUTES: z.preprocess(
      trimmed,
      wholeNumber(1, 1440, 'must be a whole number of minutes from 1 to 1440').default(30),
    ),
    PORT: z.preprocess(trimmed, wholeNumber(0, 65535, 'must be a port number').default(8000)),
    HOST: z.preprocess(unsetIfEmpty, z.string().default('127.0.0.1')),
    TRUST_PROXY: z.preprocess(trimmed, z.string().optional()).transform(trustProxy),
    TENANT_LAYOUT: z.preprocess(
      trimmed,
      z.enum(STORAGE_KINDS, { error: `must be one of ${STORAGE_KINDS.join(', ')}` }).default(DEFAULT_LAYOUT),
    ),
    /** Checked by `databasePerTenant` itself: 1 to 15 of `[a-z0-9_-]`, starting with a letter. */
    TENANT_DB_PREFIX: z.preprocess(trimmed, z.string().superRefine(databasePrefix).optional()),
  })
  .superRefine((env, ctx) => {
    if (env.TENANT_DB_PREFIX !== undefined && env.TENANT_LAYOUT !== 'database') {
      ctx.addIssue({ code: 'custom', path: ['TENANT_DB_PREFIX'], message: 'applies only with TENANT_LAYOUT=database' });
    }
    if (env.SECRET_KEY === undefined && env.NODE_ENV !== 'development') {
      ctx.addIssue({
        code: 'custom',
        path: ['SECRET_KEY'],
        message: `is required outside development (at least ${MIN_SECRET_BYTES} random bytes)`,
      });
    }
  })
  .transform(
    (env): ServerConfig => ({
      mongoUri: env.MONGO_URI,
      masterDbName: env.MASTER_DB_NAME,
      secretKey: env.SECRET_KEY ?? randomBytes(32).toString('base64url'),
      secretSource: env.SECRET_KEY === undefined ? 'generated' : 'env',
      tokenMinutes: env.ACCESS_TOKEN_EXPIRE_MINUTES,
      port: env.PORT,
      host: env.HOST,
      trustProxy: env.TRUST_PROXY,
      tenantLayout: env.TENANT_LAYOUT,
      tenantDbPrefix: env.TENANT_DB_PREFIX,
    }),
  );

/**
 * The configuration from `env` (and from `.env`, when `env` is `process.env` and the file exists).
 *
 * @throws {@link ConfigError} naming the first invalid variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, envFile = '.env'): ServerConfig {
  if (env === process.env && existsSync(envFile)) process.loadEnvFile(envFile);
  const parsed = ServerEnv.safeParse(env);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  throw new ConfigError(String(issue?.path[0] ?? 'environment'), issue?.message ?? 'is invalid');
}

/** What is wrong, from a library validation error: its first issue, without the option's path. */
export function issueOf(error: TenancyError): string {
  return error.details.issues?.[0]?.message ?? error.message;
}

/** TENANT_DB_PREFIX, as `databasePerTenant` checks it. */
function databasePrefix(prefix: string, ctx: z.RefinementCtx): void {
  try {
    databasePerTenant({ prefix });
  } catch (error) {
    if (!isTenancyError(error, 'INVALID_OPTIONS')) throw error;
    ctx.addIssue({ code: 'custom', message: issueOf(error) });
  }
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: unset, empty, `false` or `0` for off; a whole number of hops; or a comma-separated list of proxy
 * addresses, CIDRs (`10.0.0.0/8`) and `loopback` / `linklocal` / `uniquelocal`. `true` (believe every hop, so the
 * client picks its own address) is refused.
 */
function trustProxy(text: string | undefined, ctx: z.RefinementCtx): TrustProxy {
  const refuse = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (text === undefined || text === 'false') return false;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (!Number.isSafeInteger(hops)) return refuse('is not a usable hop count');
    return hops === 0 ? false : hops;
  }
  if (text === 'true') return refuse('true would let any client choose its address: give a hop count or addresses');
  const proxies = text.split(',').map((entry) => entry.trim());
  for (const entry of proxies) {
    const [address = '', bits, ...rest] = entry.split('/');
    const range = bits === undefined || /^\d+$/.test(bits) || isIP(bits) !== 0; // a prefix length or a netmask
    const valid = PROXY_NAMES.has(entry) || (isIP(address) !== 0 && range && rest.length === 0);
    if (!valid) return refuse(`"${entry}" is not a hop count, an IP address, a CIDR or a range name`);
  }
  try {
    clientAddress(proxies); // proxy-addr checks the ranges it will use
  } catch (error) {
    return refuse(error instanceof Error ? error.message : String(error));
  }
  return proxies;
}
