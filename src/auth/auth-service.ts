/**
 * The AuthService: organization admins, passwords, access tokens, and the
 * one-call guard that keeps an admin inside their own organization.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { z } from 'zod';
import { TenancyError } from '../errors.js';
import { type Clock, systemClock } from '../internal/clock.js';
import { isHexId } from '../internal/ids.js';
import { validate } from '../internal/validate.js';
import type { TenantRef } from '../tenants/refs.js';
import { createWithinJournal, type TenantManager } from '../tenants/tenant-manager.js';
import type { Tenant } from '../tenants/types.js';
import { ADMIN_ROLES, type Admin, type AdminDocument, type AdminRole, AdminStore, toAdmin } from './admins.js';
import {
  BCRYPT_MAX_BYTES,
  bcryptHasher,
  normalizePassword,
  type PasswordHasher,
  type PasswordRules,
} from './passwords.js';
import { LoginThrottle } from './throttle.js';
import { KeyRing, type TokenKey, type VerifiedPayload } from './tokens.js';

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
    /** Token lifetime in seconds. Default 1,800 (the original's 30 minutes). */
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
  /** The clock for tokens and throttling. Default: the system clock. */
  clock?: Clock;
}

/** What {@link AuthService.verify} returns for a valid token. */
export interface AuthContext {
  readonly adminId: string;
  readonly tenantId: string;
  readonly role: AdminRole;
  readonly expiresAt: Date;
  readonly tokenId: string;
}

/** What {@link AuthService.login} returns. */
export interface LoginResult {
  readonly token: string;
  readonly tokenType: 'Bearer';
  readonly expiresAt: Date;
  readonly admin: Admin;
  readonly tenant: Tenant;
}

const isFunction = (v: unknown) => typeof v === 'function';
const optionsSchema = z
  .object({
    tenants: z.custom<TenantManager>(
      (v) => isFunction((v as TenantManager | null)?.get) && !!(v as TenantManager).master,
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
    throttle: z
      .object({
        maxFailures: z.number().int().min(1).max(1_000).default(5),
        windowMs: z
          .number()
          .int()
          .min(1_000)
          .max(86_400_000)
          .default(15 * 60_000),
      })
      .strict()
      .default({ maxFailures: 5, windowMs: 15 * 60_000 }),
    clock: z.custom<Clock>(isFunction, 'a function returning a Date').default(() => systemClock),
  })
  .strict();

const EMAIL = z
  .string()
  .max(254)
  .transform((v) => v.normalize('NFC').trim().toLowerCase())
  .pipe(z.email({ message: 'an email address' }));
const registerSchema = z.object({ name: z.string(), email: EMAIL, password: z.string() }).strict();
const adminSchema = z
  .object({ email: EMAIL, password: z.string(), role: z.enum(ADMIN_ROLES).default('admin') })
  .strict();
const loginSchema = z
  .object({
    email: z.string().max(1_024),
    password: z.string().max(4_096),
    clientKey: z.string().min(1).max(256).optional(),
  })
  .strict();
/** The most verified tokens kept in memory. */
const MAX_VERIFIED_TOKENS = 10_000;

/** What verify needs to know about an admin, cached for `revocationCacheMs`; `null` when the admin is gone. */
interface AdminState {
  tenantId: string;
  role: AdminRole;
  version: number;
  active: boolean;
}

interface VerifiedEntry {
  payload: VerifiedPayload;
  until: number;
}

interface CachedState<T> {
  state: T | null;
  until: number;
}

/**
 * Organization admins with bcrypt-hashed passwords, logins that issue JWTs
 * carrying the organization's id, verification, and {@link AuthService.authorize},
 * which keeps an admin inside their own organization.
 *
 * @example
 * ```ts
 * const auth = new AuthService({ tenants, tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: process.env.SECRET_KEY! }] } });
 * const { token } = await auth.login({ email: 'ada@acme.test', password: 'correct horse battery' });
 * const ctx = await auth.verify(token);
 * await auth.authorize(ctx, { name: 'Acme Corp' });
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` naming the bad option: a weak or placeholder HS256 secret, a bcrypt cost below 10, ...
 */
export class AuthService implements AsyncDisposable {
  readonly #tenants: TenantManager;
  readonly #admins: AdminStore;
  readonly #throttle: LoginThrottle;
  readonly #ring: KeyRing;
  readonly #hasher: PasswordHasher;
  readonly #rules: PasswordRules;
  readonly #clock: Clock;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, CachedState<AdminState>>();
  readonly #tenantCache = new Map<string, CachedState<boolean>>();
  /**
   * Tokens whose signature and claims verified, by the exact token string,
   * for at most `revocationCacheMs` and never past their `exp`: the same
   * bytes verify the same way, so a hit skips the signature check. The
   * revocation checks still run on every call. Bounded by two generations:
   * when the current one is full it becomes the previous one and the older
   * entries go, all at once (evicting one by one from a Map's front costs
   * more and more as deleted slots pile up).
   */
  #verified = new Map<string, VerifiedEntry>();
  #verifiedBefore = new Map<string, VerifiedEntry>();
  #dummyHash: Promise<string> | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: AuthServiceOptions) {
    const o = validate(optionsSchema, options ?? {}, 'INVALID_OPTIONS', 'AuthService options');
    this.#tenants = o.tenants;
    this.#ring = new KeyRing(o.tokens.keys, o.tokens);
    this.#admins = new AdminStore(o.tenants.master);
    this.#throttle = new LoginThrottle(o.tenants.master, o.throttle);
    this.#hasher = o.hasher ?? bcryptHasher();
    this.#rules = o.passwordRules;
    this.#clock = o.clock;
    this.#cacheMs = o.tokens.revocationCacheMs;
  }

  /**
   * Creates the indexes the service needs and the TenantManager's. Idempotent; other methods call it for you.
   *
   * @example
   * ```ts
   * await auth.init();
   * ```
   * @throws {@link TenancyError} `STORAGE`.
   */
  init(): Promise<void> {
    if (this.#closed) return Promise.reject(new TenancyError('CLOSED'));
    this.#ready ??= Promise.all([
      this.#tenants.init(),
      this.#admins.ensureIndexes(),
      this.#throttle.ensureIndexes(),
      this.#dummy(),
    ])
      .then(() => undefined)
      .catch((error) => {
        this.#ready = undefined;
        throw error;
      });
    return this.#ready;
  }

  /**
   * Creates an organization and its first admin (role `owner`), all or
   * nothing: if the admin cannot be created, or the process dies half-way,
   * no organization is left behind.
   *
   * @example
   * ```ts
   * const { tenant, admin } = await auth.registerOrganization({ name: 'Acme Corp', email: 'ada@acme.test', password: 'correct horse battery' });
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT`, `INVALID_NAME`, `WEAK_PASSWORD`, `TENANT_EXISTS`, `EMAIL_TAKEN`, `STORAGE`.
   */
  async registerOrganization(input: {
    name: string;
    email: string;
    password: string;
  }): Promise<{ tenant: Tenant; admin: Admin }> {
    await this.init();
    const { name, email, password } = validate(registerSchema, input, 'INVALID_INPUT', 'registration');
    const passwordHash = await this.#hasher.hash(normalizePassword(password, this.#rules));
    let admin: AdminDocument | undefined;
    const tenant = await createWithinJournal(this.#tenants, { name }, async (doc) => {
      admin = await this.#admins.insert({ tenantId: doc._id, email, passwordHash, role: 'owner' }, this.#clock());
      return { adminId: admin._id.toHexString() };
    });
    return { tenant, admin: toAdmin(admin as AdminDocument) };
  }

  /**
   * Adds an admin to an existing organization.
   *
   * @example
   * ```ts
   * await auth.createAdmin(tenant.id, { email: 'bob@acme.test', password: 'another long password' });
   * ```
   * @throws {@link TenancyError} `TENANT_NOT_FOUND`, `INVALID_INPUT`, `WEAK_PASSWORD`, `EMAIL_TAKEN`, `STORAGE`.
   */
  async createAdmin(tenantId: string, input: { email: string; password: string; role?: AdminRole }): Promise<Admin> {
    const tenant = await this.#activeTenant(tenantId);
    const { email, password, role } = validate(adminSchema, input, 'INVALID_INPUT', 'admin');
    const passwordHash = await this.#hasher.hash(normalizePassword(password, this.#rules));
    const doc = await this.#admins.insert(
      { tenantId: new ObjectId(tenant.id), email, passwordHash, role },
      this.#clock(),
    );
    // A drop that began while the password was hashing has already removed the tenant's admins: undo this one.
    if ((await this.#tenants.get({ id: tenant.id }))?.status !== 'active') {
      await this.#admins.delete(doc);
      throw new TenancyError('TENANT_NOT_FOUND');
    }
    return toAdmin(doc);
  }

  /**
   * The organization's admins, oldest first.
   *
   * @example
   * ```ts
   * const admins = await auth.listAdmins(tenant.id);
   * ```
   * @throws {@link TenancyError} `TENANT_NOT_FOUND`, `STORAGE`.
   */
  async listAdmins(tenantId: string): Promise<Admin[]> {
    const tenant = await this.#activeTenant(tenantId);
    return (await this.#admins.listByTenant(new ObjectId(tenant.id))).map(toAdmin);
  }

  /**
   * Drops an organization (its storage, its registry record and its admins)
   * and forgets it in this service's caches, so its tokens stop verifying
   * here at once (elsewhere within `revocationCacheMs`). Returns `false` when
   * there was no such organization.
   *
   * @example
   * ```ts
   * await auth.deleteOrganization(ctx.tenantId);
   * ```
   * @throws {@link TenancyError} `CONFLICT`, `STORAGE`.
   */
  async deleteOrganization(tenantId: string): Promise<boolean> {
    const dropped = await this.#tenants.drop({ id: tenantId });
    this.#tenantCache.delete(tenantId);
    for (const [adminId, cached] of this.#cache) {
      if (cached.state?.tenantId === tenantId) this.#cache.delete(adminId);
    }
    return dropped;
  }

  /**
   * Checks a password against the rules without storing anything, so a
   * multi-step change can refuse a weak one before it starts.
   *
   * @example
   * ```ts
   * auth.checkPassword(body.password);
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT` (not a string), `WEAK_PASSWORD`.
   */
  checkPassword(password: string): void {
    normalizePassword(password, this.#rules);
  }

  /**
   * One admin, or `null` when there is none.
   *
   * @example
   * ```ts
   * const owner = tenant.adminId ? await auth.getAdmin(tenant.adminId) : null;
   * ```
   * @throws {@link TenancyError} `STORAGE`.
   */
  async getAdmin(adminId: string): Promise<Admin | null> {
    return this.#admin(adminId).then(toAdmin, (error: unknown) => {
      if (error instanceof TenancyError && error.code === 'ADMIN_NOT_FOUND') return null;
      throw error;
    });
  }

  /**
   * Sets a new password and revokes every token issued before.
   *
   * @example
   * ```ts
   * await auth.changePassword(admin.id, 'a brand new passphrase');
   * ```
   * @throws {@link TenancyError} `ADMIN_NOT_FOUND`, `WEAK_PASSWORD`, `STORAGE`.
   */
  async changePassword(adminId: string, password: string): Promise<Admin> {
    const admin = await this.#admin(adminId);
    const passwordHash = await this.#hasher.hash(normalizePassword(password, this.#rules));
    return this.#updated(await this.#admins.update(admin._id, { passwordHash }, true, this.#clock()));
  }

  /**
   * Changes an admin's email (unique across the deployment) and revokes older tokens.
   *
   * @example
   * ```ts
   * await auth.changeEmail(admin.id, 'ada@globex.test');
   * ```
   * @throws {@link TenancyError} `ADMIN_NOT_FOUND`, `INVALID_INPUT`, `EMAIL_TAKEN`, `STORAGE`.
   */
  async changeEmail(adminId: string, email: string): Promise<Admin> {
    const admin = await this.#admin(adminId);
    const normalized = validate(EMAIL, email, 'INVALID_INPUT', 'email');
    return this.#updated(await this.#admins.changeEmail(admin, normalized, this.#clock()));
  }

  /**
   * Deactivates an admin: no more logins, and every token stops working.
   *
   * @example
   * ```ts
   * await auth.deactivate(admin.id);
   * ```
   * @throws {@link TenancyError} `ADMIN_NOT_FOUND`, `STORAGE`.
   */
  async deactivate(adminId: string): Promise<Admin> {
    const admin = await this.#admin(adminId);
    return this.#updated(await this.#admins.update(admin._id, { active: false }, true, this.#clock()));
  }

  /**
   * Revokes every token the admin holds now (they sign in again).
   *
   * @example
   * ```ts
   * await auth.revokeAll(admin.id);
   * ```
   * @throws {@link TenancyError} `ADMIN_NOT_FOUND`, `STORAGE`.
   */
  async revokeAll(adminId: string): Promise<void> {
    const admin = await this.#admin(adminId);
    this.#updated(await this.#admins.update(admin._id, {}, true, this.#clock()));
  }

  /**
   * Deletes an admin and frees the email.
   *
   * @example
   * ```ts
   * await auth.deleteAdmin(admin.id);
   * ```
   * @throws {@link TenancyError} `ADMIN_NOT_FOUND`, `STORAGE`.
   */
  async deleteAdmin(adminId: string): Promise<void> {
    const admin = await this.#admin(adminId);
    await this.#admins.delete(admin);
    this.#cache.delete(adminId);
  }

  /**
   * Signs an admin in. A wrong password, an unknown email, a deactivated
   * admin and an organization that is gone all give `INVALID_CREDENTIALS`
   * after the same work (one bcrypt comparison at the configured cost).
   * After too many failures for the email or the `clientKey` (an IP
   * address, say), `LOCKED` with `details.retryAfter` in seconds, even with
   * the right password, until the window closes.
   *
   * @example
   * ```ts
   * const { token, expiresAt } = await auth.login({ email: 'ada@acme.test', password: 'correct horse battery', clientKey: req.ip });
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT`, `INVALID_CREDENTIALS`, `LOCKED`, `STORAGE`.
   */
  async login(input: { email: string; password: string; clientKey?: string }): Promise<LoginResult> {
    await this.init();
    const {
      email: rawEmail,
      password: rawPassword,
      clientKey,
    } = validate(loginSchema, input, 'INVALID_INPUT', 'login');
    const email = rawEmail.normalize('NFC').trim().toLowerCase();
    const password = rawPassword.normalize('NFC');
    // A password no account can have (bcrypt would compare only its first 72 bytes) never matches.
    const possible =
      Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES && [...password].length <= this.#rules.maxLength;
    const keys = [`email:${email}`, ...(clientKey ? [`client:${clientKey}`] : [])];
    const now = this.#clock();
    // The attempt is recorded before the password is checked, so concurrent guesses count against each other.
    const ticket = await this.#throttle.begin(keys, now);
    if (ticket.retryAfter > 0)
      throw new TenancyError('LOCKED', undefined, { details: { retryAfter: ticket.retryAfter } });

    const admin = await this.#admins.findByEmail(email);
    const usable = admin?.active === true && possible;
    const matches = (await this.#hasher.verify(password, usable ? admin.passwordHash : await this.#dummy())) && usable;
    const tenant = usable && matches ? await this.#tenants.get({ id: admin.tenantId.toHexString() }) : null;
    if (!admin || !tenant || tenant.status !== 'active') {
      await this.#throttle.fail(keys, now);
      throw new TenancyError('INVALID_CREDENTIALS');
    }
    await this.#throttle.succeed(ticket, `email:${email}`);
    const { token, expiresAt } = await this.#ring.sign(
      { sub: admin._id.toHexString(), org: tenant.id, role: admin.role, ver: admin.tokenVersion, jti: randomUUID() },
      now,
    );
    return { token, tokenType: 'Bearer', expiresAt, admin: toAdmin(admin), tenant };
  }

  /**
   * Verifies an access token: signature with the ring's own keys and
   * algorithms only, `typ`, `iss`, `aud`, `exp`, `iat`, then whether the
   * admin still exists, is active, belongs to the token's organization and
   * has not revoked it (cached for `revocationCacheMs`).
   *
   * @example
   * ```ts
   * const { tenantId, adminId } = await auth.verify(bearerToken);
   * ```
   * @throws {@link TenancyError} `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `STORAGE`.
   */
  async verify(token: string): Promise<AuthContext> {
    const now = this.#clock();
    const payload = this.#verifiedCopy(token, now) ?? (await this.#verifyFresh(token, now));
    const cachedAdmin = this.#peek(this.#cache, payload.sub, now);
    const admin = cachedAdmin !== undefined ? cachedAdmin : await this.#adminState(payload.sub, now);
    if (!admin?.active || admin.tenantId !== payload.org || admin.version !== payload.ver) {
      throw new TenancyError('TOKEN_REVOKED');
    }
    const cachedTenant = this.#peek(this.#tenantCache, payload.org, now);
    const tenantActive =
      cachedTenant !== undefined ? cachedTenant === true : await this.#tenantActive(payload.org, now);
    if (!tenantActive) throw new TenancyError('TOKEN_REVOKED');
    return Object.freeze({
      adminId: payload.sub,
      tenantId: payload.org,
      role: admin.role,
      expiresAt: new Date(payload.exp * 1000),
      tokenId: payload.jti,
    });
  }

  /**
   * The original service's `get_current_org_id` in one call: resolves the target
   * organization (by id, or by `{ name }`) and throws `FORBIDDEN` unless it is the
   * token's own.
   *
   * @example
   * ```ts
   * const tenant = await auth.authorize(await auth.verify(token), { name: 'Acme Corp' });
   * ```
   * @throws {@link TenancyError} `FORBIDDEN`, `TENANT_NOT_FOUND`, `INVALID_INPUT`, `INVALID_NAME`, `STORAGE`.
   */
  async authorize(ctx: Pick<AuthContext, 'tenantId'>, target: TenantRef): Promise<Tenant> {
    const tenant = await this.#tenants.get(target);
    if (!tenant) throw new TenancyError('TENANT_NOT_FOUND');
    if (tenant.id !== ctx?.tenantId) throw new TenancyError('FORBIDDEN');
    return tenant;
  }

  /**
   * The public keys of the ring's EdDSA and ES256 keys, as a JWK Set to publish.
   *
   * @example
   * ```ts
   * app.get('/.well-known/jwks.json', async (_req, res) => res.json(await auth.jwks()));
   * ```
   */
  jwks(): Promise<{ keys: import('jose').JWK[] }> {
    return this.#ring.jwks();
  }

  /**
   * Stops the hashing workers. The TenantManager and the MongoClient stay yours.
   *
   * @example
   * ```ts
   * await auth.close();
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#hasher.close?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A real hash of a random password at the configured cost, so unknown emails cost one real comparison. */
  #dummy(): Promise<string> {
    this.#dummyHash ??= this.#hasher.hash(randomBytes(24).toString('base64url')).catch((error: unknown) => {
      this.#dummyHash = undefined;
      throw error;
    });
    return this.#dummyHash;
  }

  #adminState(adminId: string, now: Date): Promise<AdminState | null> {
    return this.#cached(this.#cache, adminId, now, async () => {
      const doc = await this.#admins.findById(ObjectId.createFromHexString(adminId));
      return (
        doc && { tenantId: doc.tenantId.toHexString(), role: doc.role, version: doc.tokenVersion, active: doc.active }
      );
    });
  }

  async #tenantActive(tenantId: string, now: Date): Promise<boolean> {
    const active = await this.#cached(this.#tenantCache, tenantId, now, async () => {
      return (await this.#tenants.get({ id: tenantId }))?.status === 'active';
    });
    return active === true;
  }

  #verifiedCopy(token: string, now: Date): VerifiedPayload | undefined {
    if (typeof token !== 'string') return undefined;
    const hit = this.#verified.get(token) ?? this.#verifiedBefore.get(token);
    return hit && hit.until > now.getTime() ? hit.payload : undefined;
  }

  async #verifyFresh(token: string, now: Date): Promise<VerifiedPayload> {
    const payload = await this.#ring.verify(token, now, this.#clock === systemClock);
    const until = Math.min(now.getTime() + this.#cacheMs, payload.exp * 1000);
    if (this.#cacheMs > 0 && until > now.getTime()) {
      if (this.#verified.size >= MAX_VERIFIED_TOKENS / 2) {
        this.#verifiedBefore = this.#verified;
        this.#verified = new Map();
      }
      this.#verified.set(token, { payload, until });
    }
    return payload;
  }

  /** A live cache entry (`null` caches "gone"), or `undefined` on a miss: the hot path awaits nothing. */
  #peek<T>(cache: Map<string, CachedState<T>>, key: string, now: Date): T | null | undefined {
    const hit = cache.get(key);
    return hit && hit.until > now.getTime() ? hit.state : undefined;
  }

  /** Reads through a cache whose entries live `revocationCacheMs`. */
  async #cached<T>(
    cache: Map<string, CachedState<T>>,
    key: string,
    now: Date,
    load: () => Promise<T | null>,
  ): Promise<T | null> {
    const hit = this.#peek(cache, key, now);
    if (hit !== undefined) return hit;
    const state = await load();
    if (this.#cacheMs > 0) cache.set(key, { state, until: now.getTime() + this.#cacheMs });
    return state;
  }

  async #admin(adminId: string): Promise<AdminDocument> {
    await this.init();
    const admin = isHexId(adminId) ? await this.#admins.findById(ObjectId.createFromHexString(adminId)) : null;
    if (!admin) throw new TenancyError('ADMIN_NOT_FOUND');
    return admin;
  }

  #updated(doc: AdminDocument | null): Admin {
    if (!doc) throw new TenancyError('ADMIN_NOT_FOUND');
    this.#cache.delete(doc._id.toHexString());
    return toAdmin(doc);
  }

  async #activeTenant(tenantId: string): Promise<Tenant> {
    await this.init();
    const tenant = isHexId(tenantId) ? await this.#tenants.get({ id: tenantId }) : null;
    if (!tenant) throw new TenancyError('TENANT_NOT_FOUND');
    if (tenant.status !== 'active') throw new TenancyError('TENANT_UNAVAILABLE');
    return tenant;
  }
}
