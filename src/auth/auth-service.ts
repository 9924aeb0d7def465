/**
 * The AuthService: organization admins, passwords, access tokens, and the
 * one-call guard that keeps an admin inside their own organization. Its
 * options live in options.ts, verification and its caches in verifier.ts,
 * the all-or-nothing organization update in update-organization.ts.
 */
import { randomBytes } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import { isHexId } from '../internal/ids.js';
import { validate } from '../internal/validate.js';
import type { TenantExtensionLink } from '../tenants/extensions.js';
import type { TenantRef } from '../tenants/refs.js';
import type { TenantManager } from '../tenants/tenant-manager.js';
import type { Tenant } from '../tenants/types.js';
import {
  ADMIN_EMAILS_COLLECTION,
  ADMINS_COLLECTION,
  type Admin,
  type AdminDocument,
  type AdminRole,
  AdminStore,
  toAdmin,
} from './admins.js';
import {
  type AuthServiceOptions,
  adminSchema,
  EMAIL,
  optionsSchema,
  type RegisterOrganizationInput,
  updateSchema,
} from './options.js';
import { bcryptHasher, normalizePassword, type PasswordHasher, type PasswordRules } from './passwords.js';
import { type AuthParts, type LoginResult, login, registerOrganization } from './sign-in.js';
import { FAILURES_COLLECTION, LoginThrottle } from './throttle.js';
import { KeyRing } from './tokens.js';
import { activeTenant, updateOrganization } from './update-organization.js';
import { type AuthContext, TokenVerifier } from './verifier.js';

export type { AuthServiceOptions, RegisterOrganizationInput } from './options.js';
export type { LoginResult } from './sign-in.js';
export type { AuthContext } from './verifier.js';

/** What the service keeps in the master database: admins and email claims per tenant, login failures. */
const AUTH_EXTENSION = {
  name: 'auth',
  collections: [
    { name: ADMINS_COLLECTION, perTenant: true },
    { name: ADMIN_EMAILS_COLLECTION, perTenant: true },
    { name: FAILURES_COLLECTION },
  ],
};

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
  readonly #link: TenantExtensionLink;
  readonly #admins: AdminStore;
  readonly #throttle: LoginThrottle;
  readonly #signups: LoginThrottle;
  readonly #ring: KeyRing;
  readonly #verifier: TokenVerifier;
  readonly #hasher: PasswordHasher;
  readonly #rules: PasswordRules;
  readonly #clock: Clock;
  /** The parts the sign-up, login and update functions use, gathered once. */
  readonly #parts: AuthParts;
  #dummyHash: Promise<string> | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: AuthServiceOptions) {
    const o = validate(optionsSchema, options ?? {}, 'INVALID_OPTIONS', 'AuthService options');
    this.#tenants = o.tenants;
    this.#ring = new KeyRing(o.tokens.keys, o.tokens);
    this.#link = o.tenants.extend(AUTH_EXTENSION);
    this.#admins = new AdminStore(this.#link.db);
    this.#throttle = new LoginThrottle(this.#link.db, o.throttle);
    this.#signups = new LoginThrottle(this.#link.db, o.registrationThrottle);
    this.#hasher = o.hasher ?? bcryptHasher();
    this.#rules = o.passwordRules;
    this.#clock = o.clock;
    this.#parts = {
      tenants: o.tenants,
      link: this.#link,
      admins: this.#admins,
      hasher: this.#hasher,
      rules: this.#rules,
      clock: o.clock,
      throttle: this.#throttle,
      signups: this.#signups,
      ring: this.#ring,
      dummyHash: () => this.#dummy(),
    };
    this.#verifier = new TokenVerifier({
      ring: this.#ring,
      admins: this.#admins,
      tenants: o.tenants,
      clock: o.clock,
      cacheMs: o.tokens.revocationCacheMs,
    });
  }

  /**
   * The TenantManager this service's organizations live in: the one passed
   * as the `tenants` option. Adapters read tenant records through it.
   *
   * @example
   * ```ts
   * const tenant = await auth.tenants.get((await auth.verify(token)).tenantId);
   * ```
   */
  get tenants(): TenantManager {
    return this.#tenants;
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
    // The manager first: it connects once, so an unreachable server is reported with its cause.
    this.#ready ??= this.#tenants
      .init()
      .then(() =>
        Promise.all([this.#link.init(), this.#admins.ensureIndexes(), this.#throttle.ensureIndexes(), this.#dummy()]),
      )
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
   * no organization is left behind. `metadata` (plain JSON, at most 16 KiB)
   * is stored on the tenant; update it later with
   * {@link TenantManager.updateMetadata}.
   *
   * `EMAIL_TAKEN` tells the caller that an email is registered, so with a
   * `clientKey` (the client's IP address, say) those answers count against
   * the client as failed logins do: after `registrationThrottle.maxFailures`
   * of them in the window (default 20 in 15 minutes), the client's
   * registrations get `LOCKED` with `details.retryAfter` in seconds, whatever
   * the email. Successful registrations and every other refusal do not count.
   *
   * @example
   * ```ts
   * const { tenant, admin } = await auth.registerOrganization(
   *   { name: 'Acme Corp', email: 'ada@acme.test', password: 'correct horse battery', metadata: { plan: 'pro' } },
   *   { clientKey: req.ip },
   * );
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT`, `INVALID_NAME`, `WEAK_PASSWORD`, `TENANT_EXISTS`, `EMAIL_TAKEN`, `LOCKED`, `STORAGE`.
   */
  async registerOrganization(
    input: RegisterOrganizationInput,
    options: { clientKey?: string } = {},
  ): Promise<{ tenant: Tenant; admin: Admin }> {
    await this.init();
    return registerOrganization(this.#parts, input, options);
  }

  /**
   * Renames an admin's organization and changes the admin's email and
   * password, all or nothing. Everything that can be refused is refused
   * before anything changes: the password rules, the name rules and a name
   * another organization holds, the email's format, then the new email
   * (claimed first), then the rename itself; each leaves the name, the
   * storage, the email and the password as they were. Then the email and the
   * password hash change in one update, which revokes the admin's older
   * tokens once (a rename alone revokes nothing). Give the admin's
   * {@link AuthContext} (its organization must be the admin's) or id.
   *
   * If that last update fails (a storage failure, or the admin deleted
   * meanwhile), the organization is renamed back and the email freed, best
   * effort: the old name may have been taken in between, and with
   * `collectionPerTenant({ renameStorage: true })` the storage moves back,
   * every document kept, but under a new physical name when the old one still
   * holds tombstones (until `purgeTombstones`). A process that dies after the rename leaves the rename
   * done and the admin unchanged; the reserved email can be claimed again ten minutes later.
   *
   * @example
   * ```ts
   * const { tenant, admin } = await auth.updateOrganization(ctx, {
   *   name: 'Acme Industries',
   *   email: 'ada@industries.test',
   *   password: 'a brand new passphrase',
   * });
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT`, `INVALID_NAME`, `WEAK_PASSWORD`, `ADMIN_NOT_FOUND`, `FORBIDDEN`,
   * `TENANT_NOT_FOUND`, `TENANT_UNAVAILABLE`, `TENANT_EXISTS`, `EMAIL_TAKEN`, `CONFLICT`, `STORAGE`.
   */
  async updateOrganization(
    who: Pick<AuthContext, 'adminId' | 'tenantId'> | string,
    changes: { name?: string; email?: string; password?: string },
  ): Promise<{ tenant: Tenant; admin: Admin }> {
    const input = validate(updateSchema, changes ?? {}, 'INVALID_INPUT', 'organization changes');
    const admin = await this.#admin(typeof who === 'string' ? who : who?.adminId);
    if (typeof who !== 'string' && who.tenantId !== admin.tenantId.toHexString()) {
      throw new TenancyError('FORBIDDEN');
    }
    const result = await updateOrganization(this.#parts, admin, input);
    this.#verifier.forgetAdmin(admin._id.toHexString());
    return { tenant: result.tenant, admin: toAdmin(result.admin) };
  }

  /**
   * Adds an admin to an existing organization.
   *
   * @example
   * ```ts
   * await auth.createAdmin(tenant.id, { email: 'bob@acme.test', password: 'another long password' });
   * ```
   * @throws {@link TenancyError} `TENANT_NOT_FOUND`, `TENANT_UNAVAILABLE`, `INVALID_INPUT`, `WEAK_PASSWORD`, `EMAIL_TAKEN`, `STORAGE`.
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
   * @throws {@link TenancyError} `TENANT_NOT_FOUND`, `TENANT_UNAVAILABLE`, `STORAGE`.
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
    this.#verifier.forgetTenant(tenantId);
    return dropped;
  }

  /**
   * Suspends an organization ({@link TenantManager.suspend}: its data stays,
   * its admins cannot sign in) and forgets it in this service's caches, so
   * its tokens stop verifying here at once, whatever `revocationCacheMs`
   * says (in other processes, within `revocationCacheMs`). Suspending a
   * suspended organization is harmless.
   *
   * @example
   * ```ts
   * await auth.suspendOrganization(tenant.id);
   * await auth.verify(token); // throws TOKEN_REVOKED
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT` (not an id), `TENANT_NOT_FOUND`, `TENANT_UNAVAILABLE` (mid-operation),
   * `CONFLICT`, `STORAGE`.
   */
  async suspendOrganization(tenantId: string): Promise<Tenant> {
    try {
      return await this.#tenants.suspend({ id: tenantId });
    } finally {
      this.#verifier.forgetTenant(tenantId);
    }
  }

  /**
   * Makes a suspended organization active again ({@link TenantManager.resume})
   * and forgets it in this service's caches, so its admins' unexpired tokens
   * verify here again at once (in other processes, within `revocationCacheMs`).
   *
   * @example
   * ```ts
   * await auth.resumeOrganization(tenant.id);
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT` (not an id), `TENANT_NOT_FOUND`, `TENANT_UNAVAILABLE` (mid-operation),
   * `CONFLICT`, `STORAGE`.
   */
  async resumeOrganization(tenantId: string): Promise<Tenant> {
    try {
      return await this.#tenants.resume({ id: tenantId });
    } finally {
      this.#verifier.forgetTenant(tenantId);
    }
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
    this.#verifier.forgetAdmin(adminId);
  }

  /**
   * Signs an admin in. A wrong password, an unknown email, a deactivated
   * admin and an organization that is gone or suspended all give
   * `INVALID_CREDENTIALS` after the same work (one bcrypt comparison at the
   * configured cost). After too many failures for the email or the
   * `clientKey` (an IP address, say), `LOCKED` with `details.retryAfter` in
   * seconds, even with the right password, until the window closes. The
   * right password for an organization mid-operation (being created, renamed
   * or dropped) gives `TENANT_UNAVAILABLE` with `details.retryAfter` in
   * seconds, and the attempt does not count as a failure.
   *
   * **`clientKey`** must identify the real client: pass the client's own
   * address. Behind a reverse proxy, a load balancer or a NAT, the socket's
   * peer is the proxy, so every client shares one key and five failures from
   * anyone lock every login out (`LOCKED`): configure your framework to trust
   * your own proxies (Express's `trust proxy`, Koa's `app.proxy`), and only
   * them, since `X-Forwarded-For` is written by the client. In local test
   * runs every request comes from one address too, so a suite that tries
   * wrong passwords locks the rest of itself out: give each test a distinct
   * `clientKey` (or none), or raise `throttle.maxFailures` in the test's
   * AuthService options.
   *
   * @example
   * ```ts
   * const { token, expiresAt } = await auth.login({ email: 'ada@acme.test', password: 'correct horse battery', clientKey: req.ip });
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT`, `INVALID_CREDENTIALS`, `LOCKED`, `TENANT_UNAVAILABLE`, `STORAGE`.
   */
  async login(input: { email: string; password: string; clientKey?: string }): Promise<LoginResult> {
    await this.init();
    return login(this.#parts, input);
  }

  /**
   * Verifies an access token: signature with the ring's own keys and
   * algorithms only, `typ`, `iss`, `aud`, `exp`, `iat`, then whether the
   * admin still exists, is active, belongs to the token's organization and
   * has not revoked it, and whether the organization is active (each cached
   * for `revocationCacheMs`). An organization mid-operation (being created,
   * renamed or dropped) gives `TENANT_UNAVAILABLE` with `details.retryAfter`,
   * cached by nothing: the token verifies again as soon as the operation ends.
   *
   * @example
   * ```ts
   * const { tenantId, adminId } = await auth.verify(bearerToken);
   * ```
   * @throws {@link TenancyError} `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `TENANT_UNAVAILABLE`, `STORAGE`.
   */
  verify(token: string): Promise<AuthContext> {
    return this.#verifier.verify(token);
  }

  /**
   * One call that keeps an admin inside their own organization: resolves the target
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

  async #admin(adminId: string | undefined): Promise<AdminDocument> {
    await this.init();
    const admin = isHexId(adminId) ? await this.#admins.findById(ObjectId.createFromHexString(adminId)) : null;
    if (!admin) throw new TenancyError('ADMIN_NOT_FOUND');
    return admin;
  }

  #updated(doc: AdminDocument | null): Admin {
    if (!doc) throw new TenancyError('ADMIN_NOT_FOUND');
    this.#verifier.forgetAdmin(doc._id.toHexString());
    return toAdmin(doc);
  }

  async #activeTenant(tenantId: string): Promise<Tenant> {
    await this.init();
    if (!isHexId(tenantId)) throw new TenancyError('TENANT_NOT_FOUND');
    return activeTenant(this.#tenants, tenantId);
  }
}
