/**
 * An organization's name and its admin's email and password, changed
 * together, all or nothing: every refusal happens before the first change,
 * and a failure after it undoes what was done.
 *
 * 1. Check: the password rules, the name (the TenantManager's rules, and
 *    whether another organization holds it), the email format; hash the new
 *    password.
 * 2. Reserve the new email by inserting its claim (`EMAIL_TAKEN` here changes
 *    nothing).
 * 3. Rename the organization (`TENANT_EXISTS` here: the reservation is freed,
 *    nothing changed).
 * 4. Commit the admin's new email and/or password hash in one update, with one
 *    revocation, then free the old email's claim.
 * 5. A failure in step 4 renames the organization back and frees the
 *    reservation, best effort.
 */
import { TenancyError } from '../errors.js';
import { isTransitional, tenantInTransition } from '../tenants/availability.js';
import type { TenantManager } from '../tenants/tenant-manager.js';
import type { Tenant } from '../tenants/types.js';
import type { AdminDocument } from './admins.js';
import type { AuthParts } from './parts.js';
import { normalizePassword } from './passwords.js';

export type UpdateDeps = Pick<AuthParts, 'tenants' | 'admins' | 'hasher' | 'rules' | 'clock'>;

/** Validated changes: `email` already normalized. */
export interface OrganizationChanges {
  name?: string | undefined;
  email?: string | undefined;
  password?: string | undefined;
}

/**
 * An organization that can be changed now.
 *
 * @throws {@link TenancyError} `TENANT_NOT_FOUND`; `TENANT_UNAVAILABLE` when it is suspended, or mid-operation
 * (then with `details.retryAfter`).
 */
export async function activeTenant(tenants: TenantManager, tenantId: string): Promise<Tenant> {
  const tenant = await tenants.get({ id: tenantId });
  if (!tenant) throw new TenancyError('TENANT_NOT_FOUND');
  if (tenant.status !== 'active') {
    throw isTransitional(tenant.status) ? tenantInTransition() : new TenancyError('TENANT_UNAVAILABLE');
  }
  return tenant;
}

export async function updateOrganization(
  deps: UpdateDeps,
  admin: AdminDocument,
  changes: OrganizationChanges,
): Promise<{ tenant: Tenant; admin: AdminDocument }> {
  // 1. Everything that can be refused, before anything changes.
  const password = changes.password === undefined ? undefined : normalizePassword(changes.password, deps.rules);
  const tenant = await activeTenant(deps.tenants, admin.tenantId.toHexString());
  const newName = changes.name === undefined ? undefined : await checkName(deps.tenants, tenant, changes.name);
  const newEmail = changes.email !== undefined && changes.email !== admin.email ? changes.email : undefined;
  const passwordHash = password === undefined ? undefined : await deps.hasher.hash(password);

  // 2. Reserve the new email.
  if (newEmail !== undefined) await deps.admins.reserve(newEmail, admin, deps.clock());
  const unreserve = () => (newEmail === undefined ? Promise.resolve() : deps.admins.release(newEmail, admin._id));

  // 3. Rename.
  let renamed = tenant;
  if (newName !== undefined) {
    try {
      renamed = await deps.tenants.rename(tenant.id, newName);
    } catch (error) {
      await unreserve().catch(() => undefined);
      throw error;
    }
  }

  // 4. Commit the admin's changes in one update.
  if (newEmail === undefined && passwordHash === undefined) return { tenant: renamed, admin };
  let committed: AdminDocument | null;
  try {
    const update = {
      ...(newEmail === undefined ? {} : { email: newEmail }),
      ...(passwordHash === undefined ? {} : { passwordHash }),
    };
    committed = await deps.admins.commit(admin, update, deps.clock());
    if (!committed) throw (await deps.admins.findById(admin._id)) ? conflict() : new TenancyError('ADMIN_NOT_FOUND');
  } catch (error) {
    // 5. Undo, best effort: the first error is the one reported.
    if (renamed !== tenant) await deps.tenants.rename(tenant.id, tenant.name).catch(() => undefined);
    await unreserve().catch(() => undefined);
    throw error;
  }
  // The change is made: a claim left here by a failure is taken back as stale later.
  if (newEmail !== undefined) await deps.admins.release(admin.email, admin._id).catch(() => undefined);
  return { tenant: renamed, admin: committed };
}

/**
 * The name to rename to, or `undefined` when the organization already
 * carries it. `tenants.get({ name })` applies the TenantManager's name rules
 * (`INVALID_NAME`) and finds the current holder of the name.
 */
async function checkName(tenants: TenantManager, tenant: Tenant, name: string): Promise<string | undefined> {
  const holder = await tenants.get({ name });
  if (holder && holder.id !== tenant.id) throw new TenancyError('TENANT_EXISTS');
  return holder?.id === tenant.id && holder.name === name.normalize('NFC').trim() ? undefined : name;
}

function conflict(): TenancyError<'CONFLICT'> {
  return new TenancyError('CONFLICT', 'The admin changed while the organization was being updated');
}
