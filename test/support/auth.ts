/** AuthService factories for tests: a fresh master database, a strong secret, and a fast bcrypt cost. */
import { randomBytes } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import {
  AuthService,
  type AuthServiceOptions,
  bcryptHasher,
  TenantManager,
  type TenantManagerOptions,
} from '../../src/index.js';

export const strongSecret = () => randomBytes(32).toString('base64url');
export const PASSWORD = 'correct horse battery staple';

export function authFactory(client: MongoClient, dbName: (label?: string) => string) {
  return (
    options: Partial<Omit<AuthServiceOptions, 'tenants'>> & {
      masterDbName?: string;
      manager?: Omit<TenantManagerOptions, 'client' | 'db' | 'masterDbName'>;
    } = {},
  ) => {
    const { masterDbName = dbName('auth'), manager, ...rest } = options;
    const tenants = new TenantManager({ client, masterDbName, ...manager });
    const auth = new AuthService({
      tenants,
      hasher: bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
      tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }], revocationCacheMs: 0 },
      ...rest,
    });
    return { tenants, auth, masterDbName };
  };
}
