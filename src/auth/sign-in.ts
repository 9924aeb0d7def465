/**
 * The two unauthenticated entry points of the AuthService, as functions over
 * its parts: signing up (an organization with its first admin, all or
 * nothing, with taken-email answers throttled per client) and logging in
 * (bcrypt, the throttle, a JWT). The class keeps the public face and TSDoc.
 */
import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { isTenancyError, TenancyError } from '../errors.js';
import { validate } from '../internal/validate.js';
import { isTransitional, tenantInTransition } from '../tenants/availability.js';
import { parseMetadata } from '../tenants/metadata.js';
import type { Tenant } from '../tenants/types.js';
import { type Admin, type AdminDocument, toAdmin } from './admins.js';
import { loginSchema, type RegisterOrganizationInput, registerOptionsSchema, registerSchema } from './options.js';
import type { AuthParts } from './parts.js';
import { BCRYPT_MAX_BYTES, normalizePassword } from './passwords.js';
import type { AttemptTicket } from './throttle.js';

/** What {@link AuthService.login} returns. */
export interface LoginResult {
  readonly token: string;
  readonly tokenType: 'Bearer';
  readonly expiresAt: Date;
  readonly admin: Admin;
  readonly tenant: Tenant;
}

const NO_ATTEMPT: AttemptTicket = { ids: [], retryAfter: 0 };
const locked = (retryAfter: number) => new TenancyError('LOCKED', undefined, { details: { retryAfter } });
const ignore = () => undefined;

/** See {@link AuthService.registerOrganization}. */
export async function registerOrganization(
  parts: AuthParts,
  input: RegisterOrganizationInput,
  options: { clientKey?: string },
): Promise<{ tenant: Tenant; admin: Admin }> {
  const { name, email, password, metadata } = validate(registerSchema, input, 'INVALID_INPUT', 'registration');
  const { clientKey } = validate(registerOptionsSchema, options ?? {}, 'INVALID_INPUT', 'registration options');
  const parsedMetadata = parseMetadata(metadata); // refused before any hashing or counting
  const normalized = normalizePassword(password, parts.rules);
  const keys = clientKey ? [`signup:${clientKey}`] : [];
  const now = parts.clock();
  // Recorded before the work, as a login is, so concurrent probes count against each other.
  const ticket = keys.length > 0 ? await parts.signups.begin(keys, now) : NO_ATTEMPT;
  if (ticket.retryAfter > 0) throw locked(ticket.retryAfter);
  try {
    const passwordHash = await parts.hasher.hash(normalized);
    let admin: AdminDocument | undefined;
    const tenant = await parts.link.create({ name, metadata: parsedMetadata }, async (created, via) => {
      const owner = { tenantId: ObjectId.createFromHexString(created.id), email, passwordHash, role: 'owner' as const };
      admin = await parts.admins.insert(owner, parts.clock(), via);
      return { adminId: admin._id.toHexString() };
    });
    await parts.signups.withdraw(ticket).catch(ignore);
    return { tenant, admin: toAdmin(admin as AdminDocument) };
  } catch (error) {
    if (isTenancyError(error, 'EMAIL_TAKEN')) await parts.signups.fail(keys, now).catch(ignore);
    else await parts.signups.withdraw(ticket).catch(ignore);
    throw error;
  }
}

/** See {@link AuthService.login}. */
export async function login(
  parts: AuthParts,
  input: { email: string; password: string; clientKey?: string },
): Promise<LoginResult> {
  const { email: rawEmail, password: rawPassword, clientKey } = validate(loginSchema, input, 'INVALID_INPUT', 'login');
  const email = rawEmail.normalize('NFC').trim().toLowerCase();
  const password = rawPassword.normalize('NFC');
  // A password no account can have (bcrypt would compare only its first 72 bytes) never matches.
  const possible =
    Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES && [...password].length <= parts.rules.maxLength;
  const keys = [`email:${email}`, ...(clientKey ? [`client:${clientKey}`] : [])];
  const now = parts.clock();
  // The attempt is recorded before the password is checked, so concurrent guesses count against each other.
  const ticket = await parts.throttle.begin(keys, now);
  if (ticket.retryAfter > 0) throw locked(ticket.retryAfter);

  const admin = await parts.admins.findByEmail(email);
  const usable = admin?.active === true && possible;
  const matches =
    (await parts.hasher.verify(password, usable ? admin.passwordHash : await parts.dummyHash())) && usable;
  const tenant = usable && matches ? await parts.tenants.get({ id: admin.tenantId.toHexString() }) : null;
  if (tenant && isTransitional(tenant.status)) {
    // The right password, at the wrong moment: not a failure, and worth retrying.
    await parts.throttle.withdraw(ticket);
    throw tenantInTransition();
  }
  if (!admin || !tenant || tenant.status !== 'active') {
    await parts.throttle.fail(keys, now);
    throw new TenancyError('INVALID_CREDENTIALS');
  }
  await parts.throttle.succeed(ticket, `email:${email}`);
  const { token, expiresAt } = await parts.ring.sign(
    { sub: admin._id.toHexString(), org: tenant.id, role: admin.role, ver: admin.tokenVersion, jti: randomUUID() },
    now,
  );
  return { token, tokenType: 'Bearer', expiresAt, admin: toAdmin(admin), tenant };
}
