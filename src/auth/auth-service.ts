/**
 * The AuthService: organization admins, passwords, access tokens, and the one-call guard that keeps an admin inside
 * their own organization. The class is the public face and the TSDoc; the work is done by functions over its parts
 * (parts.ts): sign-up and login in sign-in.ts, the admin accounts in admin-accounts.ts, the all-or-nothing
 * organization update in update-organization.ts, verification and its caches in verifier.ts; options in options.ts.
 */
import { TenancyError } from '../errors.js';
import { validate } from '../internal/validate.js';
import type { TenantRef } from '../tenants/refs.js';
import type { TenantManager } from '../tenants/tenant-manager.js';
import type { Tenant } from '../tenants/types.js';
import * as accounts from './admin-accounts.js';
import { type Admin, type AdminRole, toAdmin } from './admins.js';
import { type AuthServiceOptions, type RegisterOrganizationInput, updateSchema } from './options.js';
import { type AuthParts, assembleParts } from './parts.js';
import { normalizePassword } from './passwords.js';
import { type LoginResult, login, registerOrganization } from './sign-in.js';
import { updateOrganization } from './update-organization.js';
import type { AuthContext } from './verifier.js';

export type { AuthServiceOptions, RegisterOrganizationInput } from './options.js';
export type { LoginResult } from './sign-in.js';
export type { AuthContext } from './verifier.js';

/**
 * Organization admins with bcrypt-hashed passwords, logins that issue JWTs carrying the organization's id,
 * verification, and {@link AuthService.authorize}, which keeps an admin inside their own organization.
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
  /** Its stores, hasher, throttles, key ring, verifier and lifecycle, assembled once: what its functions take. */
  readonly #parts: AuthParts;

  constructor(options: AuthServiceOptions) {
    this.#parts = assembleParts(options);
  }

  /**
   * The TenantManager this service's organizations live in: the one passed as the `tenants` option. Adapters read
   * tenant records through it.
   *
   * @example
   * ```ts
   * const tenant = await auth.tenants.get((await auth.verify(token)).tenantId);
   * ```
   */
  get tenants(): TenantManager {
    return this.#parts.tenants;
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
    return this.#parts.init();
  }

  /**
   * Creates an organization and its first admin (role `owner`), all or nothing: if the admin cannot be created, or the
   * process dies half-way, no organization is left behind. `metadata` (plain JSON, at most 16 KiB) is stored on the
   * tenant; update it later with {@link TenantManager.updateMetadata}.
   *
   * `EMAIL_TAKEN` tells the caller that an email is registered, so with a `clientKey` (the client's IP address, say)
   * those answers count against the client as failed logins do: after `registrationThrottle.maxFailures` of them in the
   * window (default 20 in 15 minutes), the client's registrations get `LOCKED` with `details.retryAfter` in seconds,
   * whatever the email. Successful registrations and every other refusal do not count. See docs/security.md, 'What can
   * still be learned'.
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
   * Renames an admin's organization and changes the admin's email and password, all or nothing. Everything that can
   * be refused is refused before anything changes: the password rules, the name rules and a name another organization
   * holds, the email's format, then the new email (claimed first), then the rename itself; each leaves the name, the
   * storage, the email and the password as they were. Then the email and the password hash change in one update, which
   * revokes the admin's older tokens once (a rename alone revokes nothing). Give the admin's {@link AuthContext} (its
   * organization must be the admin's) or id.
   *
   * If that last update fails, the organization is renamed back and the email freed, best effort. See
   * docs/security.md, 'Updating an organization', for what best effort can leave, and what a process that dies
   * half-way leaves.
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
    const admin = await accounts.findAdmin(this.#parts, typeof who === 'string' ? who : who?.adminId);
    if (typeof who !== 'string' && who.tenantId !== admin.tenantId.toHexString()) {
      throw new TenancyError('FORBIDDEN');
    }
    const result = await updateOrganization(this.#parts, admin, input);
    this.#parts.verifier.forgetAdmin(admin._id.toHexString());
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
    return accounts.createAdmin(this.#parts, tenantId, input);
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
    return accounts.listAdmins(this.#parts, tenantId);
  }

  /**
   * Drops an organization (its storage, its registry record and its admins) and forgets it in this service's caches,
   * so its tokens stop verifying here at once (elsewhere within `revocationCacheMs`). Returns `false` when there was
   * no such organization.
   *
   * @example
   * ```ts
   * await auth.deleteOrganization(ctx.tenantId);
   * ```
   * @throws {@link TenancyError} `CONFLICT`, `STORAGE`.
   */
  async deleteOrganization(tenantId: string): Promise<boolean> {
    const dropped = await this.#parts.tenants.drop({ id: tenantId });
    this.#parts.verifier.forgetTenant(tenantId);
    return dropped;
  }

  /**
   * Suspends an organization ({@link TenantManager.suspend}: its data stays, its admins cannot sign in) and forgets it
   * in this service's caches, so its tokens stop verifying here at once, whatever `revocationCacheMs` says (in other
   * processes, within `revocationCacheMs`). Suspending a suspended organization is harmless.
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
      return await this.#parts.tenants.suspend({ id: tenantId });
    } finally {
      this.#parts.verifier.forgetTenant(tenantId);
    }
  }

  /**
   * Makes a suspended organization active again ({@link TenantManager.resume}) and forgets it in this service's
   * caches, so its admins' unexpired tokens verify here again at once (in other processes, within `revocationCacheMs`).
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
      return await this.#parts.tenants.resume({ id: tenantId });
    } finally {
      this.#parts.verifier.forgetTenant(tenantId);
    }
  }

  /**
   * Checks a password against the rules without storing anything, so a multi-step change can refuse a weak one before
   * it starts.
   *
   * @example
   * ```ts
   * auth.checkPassword(body.password);
   * ```
   * @throws {@link TenancyError} `INVALID_INPUT` (not a string), `WEAK_PASSWORD`.
   */
  checkPassword(password: string): void {
    normalizePassword(password, this.#parts.rules);
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
    return accounts.getAdmin(this.#parts, adminId);
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
    return accounts.changePassword(this.#parts, adminId, password);
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
    return accounts.changeEmail(this.#parts, adminId, email);
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
    return accounts.deactivate(this.#parts, adminId);
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
    return accounts.revokeAll(this.#parts, adminId);
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
    return accounts.deleteAdmin(this.#parts, adminId);
  }

  /**
   * Signs an admin in. A wrong password, an unknown email, a deactivated admin and an organization that is gone or
   * suspended all give `INVALID_CREDENTIALS` after the same work (one bcrypt comparison at the configured cost). After
   * too many failures for the email or the `clientKey` (an IP address, say), `LOCKED` with `details.retryAfter` in
   * seconds, even with the right password, until the window closes. The right password for an organization
   * mid-operation (being created, renamed or dropped) gives `TENANT_UNAVAILABLE` with `details.retryAfter` in seconds,
   * and the attempt does not count as a failure.
   *
   * **`clientKey`** must identify the real client, not a proxy in front of it: behind a proxy, a load balancer or a
   * NAT every client shares one key, and five failures from anyone lock every login out; a test suite that tries wrong
   * passwords from one address locks itself out the same way. See docs/security.md, 'Login throttling'.
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
   * Verifies an access token: signature with the ring's own keys and algorithms only, `typ`, `iss`, `aud`, `exp`,
   * `iat`, then whether the admin still exists, is active, belongs to the token's organization and has not revoked it,
   * and whether the organization is active (each cached for `revocationCacheMs`). An organization mid-operation (being
   * created, renamed or dropped) gives `TENANT_UNAVAILABLE` with `details.retryAfter`, cached by nothing: the token
   * verifies again as soon as the operation ends.
   *
   * @example
   * ```ts
   * const { tenantId, adminId } = await auth.verify(bearerToken);
   * ```
   * @throws {@link TenancyError} `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `TENANT_UNAVAILABLE`, `STORAGE`.
   */
  verify(token: string): Promise<AuthContext> {
    return this.#parts.verifier.verify(token);
  }

  /**
   * One call that keeps an admin inside their own organization: resolves the target organization (by id, or by
   * `{ name }`) and throws `FORBIDDEN` unless it is the token's own.
   *
   * @example
   * ```ts
   * const tenant = await auth.authorize(await auth.verify(token), { name: 'Acme Corp' });
   * ```
   * @throws {@link TenancyError} `FORBIDDEN`, `TENANT_NOT_FOUND`, `INVALID_INPUT`, `INVALID_NAME`, `STORAGE`.
   */
  async authorize(ctx: Pick<AuthContext, 'tenantId'>, target: TenantRef): Promise<Tenant> {
    const tenant = await this.#parts.tenants.get(target);
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
    return this.#parts.ring.jwks();
  }

  /**
   * Stops the hashing workers. The TenantManager and the MongoClient stay yours.
   *
   * @example
   * ```ts
   * await auth.close();
   * ```
   */
  close(): Promise<void> {
    return this.#parts.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
