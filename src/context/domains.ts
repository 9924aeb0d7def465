/**
 * Host names that lead to a tenant (a custom domain, or a subdomain of
 * yours), each claimed by one tenant at most: the claim is a document whose
 * `_id` is the normalized host, so two tenants can never hold one host, on
 * any server. Kept through the manager's extension point: a drop (or an
 * undone create) removes a tenant's domains with it, and `doctor` reports
 * those of tenants that are gone.
 */
import { domainToASCII } from 'node:url';
import { type Collection, ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { direct, executeExpecting, ServerCode } from '../internal/execute.js';
import { Listeners } from '../internal/listeners.js';
import { requireActive } from '../tenants/availability.js';
import type { TenantExtensionLink } from '../tenants/extensions.js';
import type { TenantRef } from '../tenants/refs.js';
import type { TenantManager } from '../tenants/tenant-manager.js';

/** Where domain claims are kept, in the master database. */
export const DOMAINS_COLLECTION = 'tenancy_domains';

interface DomainClaim {
  _id: string;
  tenantId: ObjectId;
  createdAt: Date;
}

/** A domain as a tenant holds it. */
export interface TenantDomain {
  /** Lower case, IDNs in their ASCII (punycode) form, no trailing dot. */
  readonly domain: string;
  readonly tenantId: string;
  readonly createdAt: Date;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * `host` as a domain claim's key: lower case, an IDN in its ASCII form, no
 * trailing dot, at least two labels of letters, digits and inner hyphens.
 * A port (`acme.test:8080`) is removed; anything else is refused.
 *
 * @example
 * ```ts
 * normalizeDomain('Bücher.Example:443'); // 'xn--bcher-kva.example'
 * ```
 * @throws {@link TenancyError} `INVALID_INPUT` for what is not a domain name.
 */
export function normalizeDomain(host: unknown): string {
  const invalid = () => new TenancyError('INVALID_INPUT', 'Not a domain name', { details: { field: 'domain' } });
  if (typeof host !== 'string' || host.length > 300) throw invalid();
  const bare = host
    .trim()
    .replace(/:\d{1,5}$/, '')
    .replace(/\.$/, '');
  const ascii = domainToASCII(bare.toLowerCase());
  const labels = ascii.split('.');
  if (ascii.length === 0 || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw invalid();
  }
  return ascii;
}

/**
 * The domains of every tenant of one manager: add, remove, list, and find
 * the tenant a request's host names (what `fromHost` uses).
 *
 * @example
 * ```ts
 * const domains = new TenantDomains(tenants);
 * await domains.add(acme.id, 'shop.acme.test');
 * (await domains.find('SHOP.acme.test'))?.id === acme.id; // true
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` when the manager already has another `domains` extension.
 */
export class TenantDomains {
  readonly #tenants: TenantManager;
  readonly #link: TenantExtensionLink;
  readonly #claims: Collection<DomainClaim>;
  readonly #changes = new Listeners<string>();
  #ready: Promise<void> | undefined;

  constructor(tenants: TenantManager) {
    this.#tenants = tenants;
    this.#link = tenants.extend({ name: 'domains', collections: [{ name: DOMAINS_COLLECTION, perTenant: true }] });
    this.#claims = this.#link.db.collection<DomainClaim>(DOMAINS_COLLECTION);
  }

  /**
   * Gives `domain` to an active tenant. Adding a domain the tenant holds
   * already is a no-op.
   *
   * @example
   * ```ts
   * await domains.add(acme.id, 'app.acme.test');
   * ```
   * @throws {@link TenancyError} `DOMAIN_TAKEN` when another tenant holds it; `TENANT_NOT_FOUND`,
   * `TENANT_UNAVAILABLE` (suspended or mid-operation); `INVALID_INPUT`; `STORAGE`.
   */
  async add(ref: TenantRef, domain: string): Promise<TenantDomain> {
    const key = normalizeDomain(domain);
    await this.#init();
    const tenant = requireActive(await this.#tenants.get(ref));
    const claim: DomainClaim = { _id: key, tenantId: new ObjectId(tenant.id), createdAt: new Date() };
    const inserted = await executeExpecting('claim domain', ServerCode.DuplicateKey, false, (o) =>
      this.#claims.insertOne(claim, o).then(() => true),
    );
    if (inserted) {
      this.#changes.emit(key);
      return toDomain(claim);
    }
    const holder = await direct.run('read domain', (o) => this.#claims.findOne({ _id: key }, o));
    if (holder?.tenantId.toHexString() === tenant.id) return toDomain(holder);
    throw new TenancyError('DOMAIN_TAKEN');
  }

  /**
   * Takes `domain` away from whichever tenant holds it.
   *
   * @example
   * ```ts
   * await domains.remove('app.acme.test'); // true
   * ```
   * @returns Whether a tenant held it.
   * @throws {@link TenancyError} `INVALID_INPUT`, `STORAGE`.
   */
  async remove(domain: string): Promise<boolean> {
    const key = normalizeDomain(domain);
    const result = await direct.run('release domain', (o) => this.#claims.deleteOne({ _id: key }, o));
    this.#changes.emit(key);
    return result.deletedCount === 1;
  }

  /**
   * The tenant's domains, in order.
   *
   * @example
   * ```ts
   * const names = (await domains.list(acme.id)).map((d) => d.domain);
   * ```
   * @throws {@link TenancyError} `TENANT_NOT_FOUND`, `INVALID_INPUT`, `STORAGE`.
   */
  async list(ref: TenantRef): Promise<TenantDomain[]> {
    const tenant = await this.#tenants.get(ref);
    if (tenant === null) throw new TenancyError('TENANT_NOT_FOUND');
    const claims = await direct.run('list domains', (o) =>
      this.#claims.find({ tenantId: new ObjectId(tenant.id) }, { ...o, sort: { _id: 1 } }).toArray(),
    );
    return claims.map(toDomain);
  }

  /**
   * The id of the tenant holding the host a request came to (case and port
   * ignored, IDNs normalized), or `null`: an unknown host, or not a domain
   * name at all.
   *
   * @example
   * ```ts
   * const owner = await domains.find('Shop.Acme.test:8443'); // { id } or null
   * ```
   * @throws {@link TenancyError} `STORAGE`.
   */
  async find(host: string): Promise<{ id: string } | null> {
    let key: string;
    try {
      key = normalizeDomain(host);
    } catch {
      return null;
    }
    const claim = await direct.run('find domain', (o) => this.#claims.findOne({ _id: key }, o));
    return claim ? { id: claim.tenantId.toHexString() } : null;
  }

  /**
   * Calls `listener` with each domain this object adds or removes, once it
   * is done (for caches; other processes' changes are not reported).
   *
   * @example
   * ```ts
   * const stop = domains.onChange((domain) => console.log('changed', domain));
   * ```
   * @returns A function that removes the listener.
   * @throws Nothing; what a listener throws is ignored.
   */
  onChange(listener: (domain: string) => void): () => void {
    return this.#changes.on(listener);
  }

  #init(): Promise<void> {
    this.#ready ??= this.#link.init().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }
}

function toDomain(claim: DomainClaim): TenantDomain {
  return { domain: claim._id, tenantId: claim.tenantId.toHexString(), createdAt: claim.createdAt };
}
