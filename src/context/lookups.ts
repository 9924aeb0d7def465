/**
 * Tenant lookups for every request, cached: a tenant by reference and the
 * tenant a host names, kept in bounded caches (least recently used out
 * first) for a time-to-live, with shorter-lived "none" answers so a flood of
 * unknown hosts or names costs one database round trip per name per
 * `missTtlMs`, not one per request. A change this process makes (a rename,
 * suspend, resume, drop, a domain added or removed) empties the entries it
 * touches at once; other processes' changes are seen within `ttlMs` (a
 * tenant or host found) or `missTtlMs` (one not found).
 */
import { z } from 'zod';
import { TenancyError } from '../errors.js';
import { BoundedCache } from '../internal/bounded-cache.js';
import { type Clock, systemClock } from '../internal/clock.js';
import { validate } from '../internal/validate.js';
import type { TenantRef } from '../tenants/refs.js';
import type { TenantManager } from '../tenants/tenant-manager.js';
import type { Tenant } from '../tenants/types.js';
import type { TenantDomains } from './domains.js';

/** Options of {@link TenantLookups}. */
export interface TenantLookupsOptions {
  /** The most tenants, and the most hosts, kept: 1 to 1,000,000. Default 10,000 each. */
  max?: number;
  /** How long a tenant or a host found is kept, 0 to 3,600,000 ms. Default 5,000. */
  ttlMs?: number;
  /** How long "none" is kept for a name, id or host, 0 to 60,000 ms. Default 1,000. */
  missTtlMs?: number;
  /** Where hosts are looked up (see `fromHost`). */
  domains?: TenantDomains;
  /** The time source (tests move it). Default: the system clock. */
  clock?: Clock;
}

const optionsSchema = z
  .object({
    max: z.number().int().min(1).max(1_000_000).default(10_000),
    ttlMs: z.number().int().min(0).max(3_600_000).default(5_000),
    missTtlMs: z.number().int().min(0).max(60_000).default(1_000),
    domains: z.custom<TenantDomains>((v) => typeof (v as TenantDomains | null)?.find === 'function').optional(),
    clock: z.custom<Clock>((v) => typeof v === 'function', 'a function returning a Date').optional(),
  })
  .strict();

/**
 * Cached `get(ref)` and `find(host)`, shaped like the manager's and the
 * domains' own, so `resolveTenant` and `fromHost` take either.
 *
 * @example
 * ```ts
 * const lookups = new TenantLookups(tenants, { domains });
 * const resolve = resolveTenant({ tenants: lookups, resolvers: [fromHost(lookups)] });
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` naming each invalid option.
 */
export class TenantLookups {
  readonly #tenants: TenantManager;
  readonly #domains: TenantDomains | undefined;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #missTtlMs: number;
  readonly #byRef: BoundedCache<Tenant>;
  readonly #byHost: BoundedCache<{ readonly id: string }>;
  readonly #stop: Array<() => void>;

  constructor(tenants: TenantManager, options: TenantLookupsOptions = {}) {
    const o = validate(optionsSchema, options, 'INVALID_OPTIONS', 'TenantLookups options');
    this.#tenants = tenants;
    this.#domains = o.domains;
    this.#clock = o.clock ?? systemClock;
    this.#ttlMs = o.ttlMs;
    this.#missTtlMs = o.missTtlMs;
    this.#byRef = new BoundedCache(o.max);
    this.#byHost = new BoundedCache(o.max);
    this.#stop = [
      tenants.onChange(({ kind, tenantId }) => {
        // A create or a rename may give an answer to a name cached as "none".
        if (kind === 'created' || kind === 'renamed') this.#byRef.deleteMisses();
        if (kind === 'created') return;
        this.#byRef.deleteWhere((tenant) => tenant.id === tenantId);
        if (kind === 'dropped') this.#byHost.deleteWhere((owner) => owner.id === tenantId);
      }),
      ...(o.domains ? [o.domains.onChange(() => this.#byHost.clear())] : []),
    ];
  }

  /**
   * The tenant `ref` names, as `tenants.get(ref)` answers, from the cache
   * when it holds a live answer.
   *
   * @example
   * ```ts
   * const acme = await lookups.get({ name: 'Acme Corp' });
   * ```
   * @throws {@link TenancyError} as `TenantManager.get`: `INVALID_INPUT`, `INVALID_NAME`, `STORAGE`.
   */
  async get(ref: TenantRef): Promise<Tenant | null> {
    const key = typeof ref === 'string' ? `id:${ref}` : 'id' in ref ? `id:${ref.id}` : `name:${ref.name}`;
    const now = this.#now();
    const cached = this.#byRef.get(key, now);
    if (cached !== undefined) return cached;
    const ticket = this.#byRef.ticket(); // a change during the read: its answer is returned, not kept
    const tenant = await this.#tenants.get(ref);
    this.#byRef.set(key, tenant, now + (tenant ? this.#ttlMs : this.#missTtlMs), now, ticket);
    return tenant;
  }

  /**
   * The tenant holding `host`, as `TenantDomains.find` answers, from the
   * cache when it holds a live answer for that exact host string.
   *
   * @example
   * ```ts
   * const owner = await lookups.find('shop.acme.test'); // { id } or null
   * ```
   * @throws {@link TenancyError} `INVALID_OPTIONS` when no `domains` were given; `STORAGE`.
   */
  async find(host: string): Promise<{ readonly id: string } | null> {
    const now = this.#now();
    const cached = this.#byHost.get(host, now);
    if (cached !== undefined) return cached;
    if (!this.#domains) throw new TenancyError('INVALID_OPTIONS', 'TenantLookups was given no domains');
    const ticket = this.#byHost.ticket();
    const owner = await this.#domains.find(host);
    this.#byHost.set(host, owner, now + (owner ? this.#ttlMs : this.#missTtlMs), now, ticket);
    return owner;
  }

  /** The system clock's time, read at most once a millisecond (reading it costs more than the cache's own lookup). */
  #tick: number | undefined;

  /** The clock's time in ms: with the system clock, the time of this millisecond (this runs on every request). */
  #now(): number {
    if (this.#clock !== systemClock) return this.#clock().getTime();
    if (this.#tick === undefined) {
      this.#tick = Date.now();
      setTimeout(() => {
        this.#tick = undefined;
      }, 1).unref();
    }
    return this.#tick;
  }

  /**
   * Stops listening to the manager's and the domains' changes (the caches
   * stay as they are).
   *
   * @example
   * ```ts
   * lookups.close();
   * ```
   * @throws Nothing.
   */
  close(): void {
    for (const stop of this.#stop.splice(0)) stop();
  }
}
