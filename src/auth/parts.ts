/**
 * The AuthService's parts, assembled once by its constructor from its
 * validated options, with its lifecycle (`init` once, `close`): the functions
 * in sign-in.ts, admin-accounts.ts and update-organization.ts take them
 * instead of the class, which keeps the public face and the TSDoc.
 */
import { randomBytes } from 'node:crypto';
import { TenancyError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import { validate } from '../internal/validate.js';
import type { TenantExtensionLink } from '../tenants/extensions.js';
import type { TenantManager } from '../tenants/tenant-manager.js';
import { ADMIN_EMAILS_COLLECTION, ADMINS_COLLECTION, AdminStore } from './admins.js';
import { type AuthServiceOptions, optionsSchema } from './options.js';
import { bcryptHasher, type PasswordHasher, type PasswordRules } from './passwords.js';
import { FAILURES_COLLECTION, LoginThrottle } from './throttle.js';
import { KeyRing } from './tokens.js';
import { TokenVerifier } from './verifier.js';

/** The AuthService's parts, built once by its constructor. @internal */
export interface AuthParts {
  readonly tenants: TenantManager;
  /** The service's link to the manager: its database, and creates that add the first admin inside the journal. */
  readonly link: TenantExtensionLink;
  readonly admins: AdminStore;
  readonly hasher: PasswordHasher;
  readonly rules: PasswordRules;
  readonly clock: Clock;
  /** Failed logins, per email and per client key. */
  readonly throttle: LoginThrottle;
  /** Registrations answered `EMAIL_TAKEN`, per client key. */
  readonly signups: LoginThrottle;
  readonly ring: KeyRing;
  /** Verification and its caches: whatever changes an admin makes it forget that admin. */
  readonly verifier: TokenVerifier;
  /** A real hash of a random password, so unknown emails cost one real comparison. */
  readonly dummyHash: () => Promise<string>;
  /** {@link AuthService.init}: the indexes, made once (again after a failure); `CLOSED` once closed. */
  readonly init: () => Promise<void>;
  /** {@link AuthService.close}: stops the hasher's workers; `init` refuses from then on. */
  readonly close: () => Promise<void>;
}

/** What the service keeps in the master database: admins and email claims per tenant, login failures. */
const AUTH_EXTENSION = {
  name: 'auth',
  collections: [
    { name: ADMINS_COLLECTION, perTenant: true },
    { name: ADMIN_EMAILS_COLLECTION, perTenant: true },
    { name: FAILURES_COLLECTION },
  ],
};

/** The parts, from the service's options. @throws {@link TenancyError} `INVALID_OPTIONS`. */
export function assembleParts(options: AuthServiceOptions): AuthParts {
  const o = validate(optionsSchema, options ?? {}, 'INVALID_OPTIONS', 'AuthService options');
  const { tenants, clock } = o;
  const ring = new KeyRing(o.tokens.keys, o.tokens);
  const link = tenants.extend(AUTH_EXTENSION);
  const admins = new AdminStore(link.db);
  const throttle = new LoginThrottle(link.db, o.throttle);
  const signups = new LoginThrottle(link.db, o.registrationThrottle);
  const hasher = o.hasher ?? bcryptHasher();
  const verifier = new TokenVerifier({ ring, admins, tenants, clock, cacheMs: o.tokens.revocationCacheMs });
  // A change this process makes to an organization reaches the verifier's caches at once.
  const stopListening = tenants.onChange(({ kind, tenantId }) => {
    if (kind !== 'created' && kind !== 'metadata') verifier.forgetTenant(tenantId);
  });

  let dummy: Promise<string> | undefined;
  const dummyHash = (): Promise<string> => {
    dummy ??= hasher.hash(randomBytes(24).toString('base64url')).catch((error: unknown) => {
      dummy = undefined;
      throw error;
    });
    return dummy;
  };

  let ready: Promise<void> | undefined;
  let closed = false;
  const init = (): Promise<void> => {
    if (closed) return Promise.reject(new TenancyError('CLOSED'));
    // The manager first: it connects once, so an unreachable server is reported with its cause.
    ready ??= tenants
      .init()
      .then(() => Promise.all([link.init(), admins.ensureIndexes(), throttle.ensureIndexes(), dummyHash()]))
      .then(() => undefined)
      .catch((error) => {
        ready = undefined;
        throw error;
      });
    return ready;
  };
  const close = async (): Promise<void> => {
    closed = true;
    stopListening();
    await hasher.close?.();
  };

  const rules = o.passwordRules;
  return { tenants, link, admins, hasher, rules, clock, throttle, signups, ring, verifier, dummyHash, init, close };
}
