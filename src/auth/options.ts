/**
 * The AuthService's options and the schemas of its inputs: validated once,
 * at the boundary, with zod.
 */
import { z } from 'zod';
import type { Clock } from '../internal/clock.js';
import { systemClock } from '../internal/clock.js';
import type { TenantManager } from '../tenants/tenant-manager.js';
import { ADMIN_ROLES } from './admins.js';
import type { PasswordHasher, PasswordRules } from './passwords.js';
import type { TokenKey } from './tokens.js';

/** Options of {@link AuthService}. */
export interface AuthServiceOptions {
  /** The TenantManager whose organizations the admins belong to; its master database holds the admins. */
  tenants: TenantManager;
  tokens: {
    /** The key ring, oldest first: the last key that can sign signs, every listed key verifies. */
    keys: TokenKey[];
    /** `iss` of issued tokens, checked on verify. Default `mongo-tenancy`. */
    issuer?: string;
    /** `aud` of issued tokens, checked on verify. Default `mongo-tenancy`. */
    audience?: string;
    /** Token lifetime in seconds. Default 1,800 (30 minutes). */
    ttlSeconds?: number;
    /** Clock skew allowed on `exp`, `nbf` and `iat`, 0 to 60 seconds. Default 5. */
    clockToleranceSeconds?: number;
    /** How long a verified admin's token version and status are cached, in ms (0 to 60,000). Default 5,000: the longest a revoked token still verifies. */
    revocationCacheMs?: number;
  };
  /** How passwords are hashed. Default {@link bcryptHasher}`()`: bcryptjs, cost 12, in worker threads. */
  hasher?: PasswordHasher;
  /** Password length rules. Default 8 to 128 characters (and at most 72 bytes). */
  passwordRules?: Partial<PasswordRules>;
  /** Failed logins allowed per email and per client key within the window. Default 5 in 15 minutes. */
  throttle?: { maxFailures?: number; windowMs?: number };
  /**
   * Registrations answered `EMAIL_TAKEN` (each reveals that an email is
   * registered) allowed per client key within the window, before that client's
   * registrations get `LOCKED`. Other answers do not count. Default 20 in 15
   * minutes, more than any normal signup needs.
   */
  registrationThrottle?: { maxFailures?: number; windowMs?: number };
  /** The clock for tokens and throttling. Default: the system clock. */
  clock?: Clock;
}

/** What {@link AuthService.registerOrganization} takes. */
export interface RegisterOrganizationInput {
  /** The organization's display name (the TenantManager's name rules). */
  name: string;
  /** The owner's email, unique across the deployment. */
  email: string;
  /** The owner's password (the password rules). */
  password: string;
  /** Your JSON data about the organization, stored on the tenant: plain JSON, at most 16 KiB. Default `{}`. */
  metadata?: Record<string, unknown>;
}

const FIFTEEN_MINUTES = 15 * 60_000;
const isFunction = (v: unknown) => typeof v === 'function';
const throttleSchema = (maxFailures: number) =>
  z
    .object({
      maxFailures: z.number().int().min(1).max(1_000).default(maxFailures),
      windowMs: z.number().int().min(1_000).max(86_400_000).default(FIFTEEN_MINUTES),
    })
    .strict()
    .default({ maxFailures, windowMs: FIFTEEN_MINUTES });

export const optionsSchema = z
  .object({
    tenants: z.custom<TenantManager>(
      (v) => isFunction((v as TenantManager | null)?.get) && isFunction((v as TenantManager).extend),
      'a TenantManager',
    ),
    tokens: z
      .object({
        keys: z.array(z.custom<TokenKey>((v) => typeof v === 'object' && v !== null, 'a key')).min(1),
        issuer: z.string().min(1).max(256).default('mongo-tenancy'),
        audience: z.string().min(1).max(256).default('mongo-tenancy'),
        ttlSeconds: z.number().int().min(30).max(86_400).default(1_800),
        clockToleranceSeconds: z.number().int().min(0).max(60).default(5),
        revocationCacheMs: z.number().int().min(0).max(60_000).default(5_000),
      })
      .strict(),
    hasher: z
      .custom<PasswordHasher>(
        (v) => isFunction((v as PasswordHasher | null)?.hash) && isFunction((v as PasswordHasher).verify),
        'a PasswordHasher',
      )
      .optional(),
    passwordRules: z
      .object({
        minLength: z.number().int().min(8).max(128).default(8),
        maxLength: z.number().int().min(8).max(128).default(128),
      })
      .strict()
      .refine((r) => r.minLength <= r.maxLength, 'minLength must not exceed maxLength')
      .default({ minLength: 8, maxLength: 128 }),
    throttle: throttleSchema(5),
    registrationThrottle: throttleSchema(20),
    clock: z.custom<Clock>(isFunction, 'a function returning a Date').default(() => systemClock),
  })
  .strict();

export const EMAIL = z
  .string()
  .max(254)
  .transform((v) => v.normalize('NFC').trim().toLowerCase())
  .pipe(z.email({ message: 'an email address' }));
const CLIENT_KEY = z.string().min(1).max(256);
export const registerSchema = z
  .object({ name: z.string(), email: EMAIL, password: z.string(), metadata: z.unknown().optional() })
  .strict();
export const registerOptionsSchema = z.object({ clientKey: CLIENT_KEY.optional() }).strict();
export const adminSchema = z
  .object({ email: EMAIL, password: z.string(), role: z.enum(ADMIN_ROLES).default('admin') })
  .strict();
export const loginSchema = z
  .object({
    email: z.string().max(1_024),
    password: z.string().max(4_096),
    clientKey: CLIENT_KEY.optional(),
  })
  .strict();
export const updateSchema = z
  .object({ name: z.string().optional(), email: EMAIL.optional(), password: z.string().optional() })
  .strict();
