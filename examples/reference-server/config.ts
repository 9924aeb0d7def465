/**
 * Configuration from the environment, with the original service's names:
 * MONGO_URI, MASTER_DB_NAME, SECRET_KEY, ALGORITHM, ACCESS_TOKEN_EXPIRE_MINUTES,
 * plus PORT (default 8000), HOST (default 127.0.0.1) and NODE_ENV. A `.env` file is read when present.
 * Outside development a missing or weak SECRET_KEY stops the start, naming it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { MIN_SECRET_BYTES } from 'mongo-tenancy';

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
  };
}
