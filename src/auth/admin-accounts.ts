/**
 * The AuthService's admin-account operations, as functions over its parts:
 * adding and listing an organization's admins, reading one, changing a
 * password or an email, deactivating, revoking and deleting. Every change to
 * an admin makes the verifier forget that admin at once. The class keeps the
 * public face and TSDoc.
 */
import { ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { isHexId } from '../internal/ids.js';
import { validate } from '../internal/validate.js';
import type { Tenant } from '../tenants/types.js';
import { type Admin, type AdminDocument, type AdminRole, toAdmin } from './admins.js';
import { adminSchema, EMAIL } from './options.js';
import type { AuthParts } from './parts.js';
import { normalizePassword } from './passwords.js';
import { activeTenant } from './update-organization.js';

/** See {@link AuthService.createAdmin}. */
export async function createAdmin(
  parts: AuthParts,
  tenantId: string,
  input: { email: string; password: string; role?: AdminRole },
): Promise<Admin> {
  const tenant = await activeTenantById(parts, tenantId);
  const { email, password, role } = validate(adminSchema, input, 'INVALID_INPUT', 'admin');
  const passwordHash = await parts.hasher.hash(normalizePassword(password, parts.rules));
  const doc = await parts.admins.insert(
    { tenantId: new ObjectId(tenant.id), email, passwordHash, role },
    parts.clock(),
  );
  // A drop that began while the password was hashing has already removed the tenant's admins: undo this one.
  if ((await parts.tenants.get({ id: tenant.id }))?.status !== 'active') {
    await parts.admins.delete(doc);
    throw new TenancyError('TENANT_NOT_FOUND');
  }
  return toAdmin(doc);
}

/** See {@link AuthService.listAdmins}. */
export async function listAdmins(parts: AuthParts, tenantId: string): Promise<Admin[]> {
  const tenant = await activeTenantById(parts, tenantId);
  return (await parts.admins.listByTenant(new ObjectId(tenant.id))).map(toAdmin);
}

/** See {@link AuthService.getAdmin}. */
export async function getAdmin(parts: AuthParts, adminId: string): Promise<Admin | null> {
  return findAdmin(parts, adminId).then(toAdmin, (error: unknown) => {
    if (error instanceof TenancyError && error.code === 'ADMIN_NOT_FOUND') return null;
    throw error;
  });
}

/** See {@link AuthService.changePassword}. */
export async function changePassword(parts: AuthParts, adminId: string, password: string): Promise<Admin> {
  const admin = await findAdmin(parts, adminId);
  const passwordHash = await parts.hasher.hash(normalizePassword(password, parts.rules));
  return updated(parts, await parts.admins.update(admin._id, { passwordHash }, true, parts.clock()));
}

/** See {@link AuthService.changeEmail}. */
export async function changeEmail(parts: AuthParts, adminId: string, email: string): Promise<Admin> {
  const admin = await findAdmin(parts, adminId);
  const normalized = validate(EMAIL, email, 'INVALID_INPUT', 'email');
  return updated(parts, await parts.admins.changeEmail(admin, normalized, parts.clock()));
}

/** See {@link AuthService.deactivate}. */
export async function deactivate(parts: AuthParts, adminId: string): Promise<Admin> {
  const admin = await findAdmin(parts, adminId);
  return updated(parts, await parts.admins.update(admin._id, { active: false }, true, parts.clock()));
}

/** See {@link AuthService.revokeAll}. */
export async function revokeAll(parts: AuthParts, adminId: string): Promise<void> {
  const admin = await findAdmin(parts, adminId);
  updated(parts, await parts.admins.update(admin._id, {}, true, parts.clock()));
}

/** See {@link AuthService.deleteAdmin}. */
export async function deleteAdmin(parts: AuthParts, adminId: string): Promise<void> {
  const admin = await findAdmin(parts, adminId);
  await parts.admins.delete(admin);
  parts.verifier.forgetAdmin(adminId);
}

/**
 * The admin's record, once the service is ready.
 *
 * @throws {@link TenancyError} `ADMIN_NOT_FOUND` (also for a string that is not an id), `STORAGE`.
 */
export async function findAdmin(parts: AuthParts, adminId: string | undefined): Promise<AdminDocument> {
  await parts.init();
  const admin = isHexId(adminId) ? await parts.admins.findById(ObjectId.createFromHexString(adminId)) : null;
  if (!admin) throw new TenancyError('ADMIN_NOT_FOUND');
  return admin;
}

/** The updated admin, forgotten by the verifier; `ADMIN_NOT_FOUND` when it was gone. */
function updated(parts: AuthParts, doc: AdminDocument | null): Admin {
  if (!doc) throw new TenancyError('ADMIN_NOT_FOUND');
  parts.verifier.forgetAdmin(doc._id.toHexString());
  return toAdmin(doc);
}

/** An organization admins can be added to now, once the service is ready. */
async function activeTenantById(parts: AuthParts, tenantId: string): Promise<Tenant> {
  await parts.init();
  if (!isHexId(tenantId)) throw new TenancyError('TENANT_NOT_FOUND');
  return activeTenant(parts.tenants, tenantId);
}
