/**
 * Admin records (`organization_admins`) and the email claims that keep
 * emails unique across the deployment (`organization_admin_emails`, `_id` =
 * the normalized email). Uniqueness is an insert on `_id`, never an update.
 * A claim left behind by a crash (its admin is gone or has another email,
 * ten minutes after it was made) is taken back by the next claim of that
 * email.
 */
import { randomInt } from 'node:crypto';
import { type Collection, type Db, ObjectId } from 'mongodb';
import { TenancyError } from '../errors.js';
import { direct, execute, executeExpecting, type Runner, ServerCode } from '../internal/execute.js';

/** The admins, in the master database. */
export const ADMINS_COLLECTION = 'organization_admins';
/** The email claims (`_id` = the normalized email). */
export const ADMIN_EMAILS_COLLECTION = 'organization_admin_emails';

/** Roles an admin can hold. `owner` is the organization's first admin. */
export const ADMIN_ROLES = ['owner', 'admin'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminDocument {
  _id: ObjectId;
  tenantId: ObjectId;
  email: string;
  passwordHash: string;
  role: AdminRole;
  /** Changed (to a new random value) to revoke every token issued before. */
  tokenVersion: number;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface EmailClaim {
  _id: string;
  adminId: ObjectId;
  tenantId: ObjectId;
  claimedAt: Date;
}

/** How old a claim without its admin must be before it counts as left by a crash (not one being made). */
const STALE_CLAIM_MS = 10 * 60 * 1000;

/** An organization admin, as the service returns it: never a hash or a token version. */
export interface Admin {
  readonly id: string;
  readonly tenantId: string;
  readonly email: string;
  readonly role: AdminRole;
  readonly active: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export function toAdmin(doc: AdminDocument): Admin {
  return Object.freeze({
    id: doc._id.toHexString(),
    tenantId: doc.tenantId.toHexString(),
    email: doc.email,
    role: doc.role,
    active: doc.active,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  });
}

const TAKEN = Symbol('taken');

export class AdminStore {
  readonly #admins: Collection<AdminDocument>;
  readonly #emails: Collection<EmailClaim>;

  constructor(master: Db) {
    this.#admins = master.collection<AdminDocument>(ADMINS_COLLECTION);
    this.#emails = master.collection<EmailClaim>(ADMIN_EMAILS_COLLECTION);
  }

  ensureIndexes(): Promise<unknown> {
    return Promise.all([
      execute('create admin indexes', () => this.#admins.createIndexes([{ key: { tenantId: 1 }, name: 'tenantId' }])),
      execute('create email indexes', () => this.#emails.createIndexes([{ key: { tenantId: 1 }, name: 'tenantId' }])),
    ]);
  }

  /**
   * Inserts an admin under a fresh email claim; its calls go through `via`
   * (a create's lease, when it runs inside one).
   *
   * @throws {@link TenancyError} `EMAIL_TAKEN`.
   */
  async insert(
    input: Omit<AdminDocument, '_id' | 'tokenVersion' | 'active' | 'createdAt' | 'updatedAt'>,
    now: Date,
    via: Runner = direct,
  ) {
    const doc: AdminDocument = {
      _id: new ObjectId(),
      tokenVersion: 0,
      active: true,
      createdAt: now,
      updatedAt: now,
      ...input,
    };
    await this.#claim(doc.email, doc._id, doc.tenantId, now, via);
    await via.run('insert admin', (o) => this.#admins.insertOne(doc, o));
    return doc;
  }

  findById(id: ObjectId): Promise<AdminDocument | null> {
    return execute('find admin', () => this.#admins.findOne({ _id: id }));
  }

  /** The admin holding `email`, through its claim (an `_id` lookup on both collections). */
  async findByEmail(email: string): Promise<AdminDocument | null> {
    const claim = await execute('find email', () => this.#emails.findOne({ _id: email }));
    // The second lookup runs for unknown emails too, so both take the same round trips.
    const admin = await this.findById(claim?.adminId ?? new ObjectId());
    return admin?.email === email ? admin : null;
  }

  listByTenant(tenantId: ObjectId): Promise<AdminDocument[]> {
    return execute('list admins', () => this.#admins.find({ tenantId }).sort({ _id: 1 }).toArray());
  }

  /**
   * Applies changes; with `revoke`, also gives the admin a new random token
   * version. Random, not incremented: two concurrent revocations can never
   * land on the same new version (FerretDB v1 loses concurrent `$inc`s).
   */
  update(id: ObjectId, changes: Partial<AdminDocument>, revoke: boolean, now: Date): Promise<AdminDocument | null> {
    const version = revoke ? { tokenVersion: randomInt(1, 2 ** 47) } : {};
    return execute('update admin', () =>
      this.#admins.findOneAndUpdate(
        { _id: id },
        { $set: { ...changes, ...version, updatedAt: now } },
        { returnDocument: 'after' },
      ),
    );
  }

  /**
   * Moves an admin to a new email: claim it, update the record, free the old one.
   *
   * @throws {@link TenancyError} `EMAIL_TAKEN`.
   */
  async changeEmail(admin: AdminDocument, email: string, now: Date): Promise<AdminDocument | null> {
    if (admin.email === email) return admin;
    await this.#claim(email, admin._id, admin.tenantId, now);
    const updated = await this.update(admin._id, { email }, true, now);
    await this.release(admin.email, admin._id);
    return updated;
  }

  /**
   * Claims `email` for the admin without changing the admin: the first step
   * of a change that must be refusable before anything else happens. A
   * reservation never committed is freed by {@link AdminStore.release}, or
   * taken back as stale ten minutes later.
   *
   * @throws {@link TenancyError} `EMAIL_TAKEN`.
   */
  reserve(email: string, admin: AdminDocument, now: Date): Promise<void> {
    return this.#claim(email, admin._id, admin.tenantId, now);
  }

  /** Frees the admin's claim of `email` (never another admin's). */
  async release(email: string, adminId: ObjectId): Promise<void> {
    await execute('release email', () => this.#emails.deleteOne({ _id: email, adminId }));
  }

  /**
   * Sets a reserved email and/or a new password hash in one update, with one
   * revocation, if the admin still has the email it had when read; `null`
   * when it is gone or changed meanwhile. The old email's claim stays: the
   * caller releases it once the change is final.
   */
  commit(
    admin: AdminDocument,
    changes: { email?: string; passwordHash?: string },
    now: Date,
  ): Promise<AdminDocument | null> {
    return execute('update admin', () =>
      this.#admins.findOneAndUpdate(
        { _id: admin._id, email: admin.email },
        { $set: { ...changes, tokenVersion: randomInt(1, 2 ** 47), updatedAt: now } },
        { returnDocument: 'after' },
      ),
    );
  }

  async delete(admin: AdminDocument): Promise<void> {
    await execute('delete admin', () => this.#admins.deleteOne({ _id: admin._id }));
    await this.release(admin.email, admin._id);
  }

  async #claim(email: string, adminId: ObjectId, tenantId: ObjectId, now: Date, via: Runner = direct): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const claimed = await executeExpecting(
        'claim email',
        ServerCode.DuplicateKey,
        TAKEN,
        (o) => this.#emails.insertOne({ _id: email, adminId, tenantId, claimedAt: now }, o),
        via,
      );
      if (claimed !== TAKEN) return;
      // A claim whose admin is gone or moved to another email, long after it was made, was left by a crash: take it back.
      const holder = await via.run('find email', (o) => this.#emails.findOne({ _id: email }, o));
      const owner = holder ? await this.findById(holder.adminId) : null;
      const stale = holder && owner?.email !== email && now.getTime() - holder.claimedAt.getTime() > STALE_CLAIM_MS;
      if (holder && !stale) break;
      if (holder)
        await via.run('release stale email', (o) => this.#emails.deleteOne({ _id: email, adminId: holder.adminId }, o));
    }
    throw new TenancyError('EMAIL_TAKEN', undefined, { details: { field: 'email' } });
  }
}
