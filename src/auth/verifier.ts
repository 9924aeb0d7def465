/**
 * Token verification and its caches: the verified-token cache, each admin's
 * token version and status, and each organization's status, all for at most
 * `revocationCacheMs`. Only settled answers are cached: an organization
 * caught mid-operation is asked about again on the next call.
 */
import { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { BoundedCache } from '../internal/bounded-cache.js';
import { type Clock, systemClock } from '../internal/clock.js';
import { isTransitional, tenantInTransition } from '../tenants/availability.js';
import type { TenantManager } from '../tenants/tenant-manager.js';
import type { AdminRole, AdminStore } from './admins.js';
import type { KeyRing, VerifiedPayload } from './tokens.js';

/** What {@link AuthService.verify} returns for a valid token. */
export interface AuthContext {
  readonly adminId: string;
  readonly tenantId: string;
  readonly role: AdminRole;
  readonly expiresAt: Date;
  readonly tokenId: string;
}

/** The most entries each cache keeps (verified tokens, admins, organizations), least recently used out first. */
const MAX_ENTRIES = 10_000;
/** What verify needs to know about an admin, cached for `revocationCacheMs`; `null` when the admin is gone. */
interface AdminState {
  tenantId: string;
  role: AdminRole;
  version: number;
  active: boolean;
}

export class TokenVerifier {
  readonly #ring: KeyRing;
  readonly #admins: AdminStore;
  readonly #tenants: TenantManager;
  readonly #clock: Clock;
  readonly #cacheMs: number;
  readonly #adminCache = new BoundedCache<AdminState>(MAX_ENTRIES);
  /** Settled organizations only: `true` active, `false` gone or suspended. */
  readonly #tenantCache = new BoundedCache<boolean>(MAX_ENTRIES);
  /**
   * Tokens whose signature and claims verified, by the exact token string,
   * for at most `revocationCacheMs` and never past their `exp`: the same
   * bytes verify the same way, so a hit skips the signature check. The
   * revocation checks still run on every call.
   */
  readonly #verified = new BoundedCache<VerifiedPayload>(MAX_ENTRIES);

  constructor(deps: { ring: KeyRing; admins: AdminStore; tenants: TenantManager; clock: Clock; cacheMs: number }) {
    this.#ring = deps.ring;
    this.#admins = deps.admins;
    this.#tenants = deps.tenants;
    this.#clock = deps.clock;
    this.#cacheMs = deps.cacheMs;
  }

  async verify(token: string): Promise<AuthContext> {
    const now = this.#clock();
    const payload = this.#verifiedCopy(token, now) ?? (await this.#verifyFresh(token, now));
    const cachedAdmin = this.#adminCache.get(payload.sub, now.getTime());
    const admin = cachedAdmin !== undefined ? cachedAdmin : await this.#adminState(payload.sub, now);
    if (!admin?.active || admin.tenantId !== payload.org || admin.version !== payload.ver) {
      throw new TenancyError('TOKEN_REVOKED');
    }
    const cachedTenant = this.#tenantCache.get(payload.org, now.getTime());
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

  /** Forgets one admin's cached state (after a change in this process). */
  forgetAdmin(adminId: string): void {
    this.#adminCache.delete(adminId);
  }

  /** Forgets an organization and its admins' cached states (after a drop in this process). */
  forgetTenant(tenantId: string): void {
    this.#tenantCache.delete(tenantId);
    this.#adminCache.deleteWhere((admin) => admin.tenantId === tenantId);
  }

  async #adminState(adminId: string, now: Date): Promise<AdminState | null> {
    const ticket = this.#adminCache.ticket();
    const doc = await this.#admins.findById(ObjectId.createFromHexString(adminId));
    const state = doc && {
      tenantId: doc.tenantId.toHexString(),
      role: doc.role,
      version: doc.tokenVersion,
      active: doc.active,
    };
    this.#remember(this.#adminCache, adminId, state, now, ticket);
    return state;
  }

  /**
   * Whether the organization is active; `false` (cached) when it is gone or
   * suspended. Mid-operation, `TENANT_UNAVAILABLE`, and nothing is cached: the
   * same token verifies again as soon as the operation ends.
   */
  async #tenantActive(tenantId: string, now: Date): Promise<boolean> {
    const ticket = this.#tenantCache.ticket();
    const tenant = await this.#tenants.get({ id: tenantId });
    if (tenant && isTransitional(tenant.status)) throw tenantInTransition();
    const active = tenant?.status === 'active';
    this.#remember(this.#tenantCache, tenantId, active, now, ticket);
    return active;
  }

  /** Caches a read, unless something was forgotten while it ran (its answer may predate that change). */
  #remember<T>(cache: BoundedCache<T>, key: string, state: T | null, now: Date, ticket: number): void {
    cache.set(key, state, now.getTime() + this.#cacheMs, now.getTime(), ticket);
  }

  #verifiedCopy(token: string, now: Date): VerifiedPayload | undefined {
    if (typeof token !== 'string') return undefined;
    return this.#verified.get(token, now.getTime()) ?? undefined;
  }

  async #verifyFresh(token: string, now: Date): Promise<VerifiedPayload> {
    const payload = await this.#ring.verify(token, now, this.#clock === systemClock);
    this.#verified.set(token, payload, Math.min(now.getTime() + this.#cacheMs, payload.exp * 1000), now.getTime());
    return payload;
  }
}
