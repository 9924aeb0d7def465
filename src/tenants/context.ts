/**
 * The parts a TenantManager's operations share, built once from its
 * resolved options, and the two things every public method needs of them:
 * getting the database ready and finding a tenant by reference.
 */
import type { Db, MongoClient } from 'mongodb';
import { execute } from '../internal/execute.js';
import { KEYS_COLLECTION, KeyClaims, NAMES_COLLECTION, NameClaims } from './claims.js';
import { Extensions } from './extensions.js';
import { EPOCHS_COLLECTION, JOURNAL_COLLECTION, Journal, TAKEOVERS_COLLECTION } from './journal.js';
import { Layouts } from './layouts.js';
import type { OperationContext } from './operation.js';
import { DEFAULT_MASTER_DB_NAME, type ResolvedManagerOptions } from './options.js';
import { recoverAll, settleOperation } from './recovery.js';
import { parseRef, type TenantRef } from './refs.js';
import { REGISTRY_COLLECTION, Registry } from './registry.js';
import { collectionPerTenant } from './strategies/collection.js';
import type { TenantDocument } from './types.js';

/** The master-database collections the manager keeps itself: no extension may declare them. */
const MANAGER_COLLECTIONS = [
  REGISTRY_COLLECTION,
  NAMES_COLLECTION,
  KEYS_COLLECTION,
  JOURNAL_COLLECTION,
  TAKEOVERS_COLLECTION,
  EPOCHS_COLLECTION,
];

/** The master database the options name. */
export function masterOf(o: ResolvedManagerOptions): Db {
  return o.db ?? (o.client as MongoClient).db(o.masterDbName ?? DEFAULT_MASTER_DB_NAME);
}

/** Builds the operations' context (no I/O). */
export function buildContext(master: Db, o: ResolvedManagerOptions): OperationContext {
  const hooks = {
    afterStep: o.hooks.afterStep ?? (() => undefined),
    afterCall: o.hooks.afterCall ?? (() => undefined),
  };
  const ctx: OperationContext = {
    registry: new Registry(master),
    names: new NameClaims(master),
    keys: new KeyClaims(master),
    journal: new Journal(master, o.leaseMs, o.clock, hooks),
    extensions: new Extensions(master, MANAGER_COLLECTIONS),
    layouts: new Layouts(master.client, master.databaseName, o.strategy ?? collectionPerTenant(), o.layouts),
    clock: o.clock,
    settle: (lease) => settleOperation(ctx, lease),
  };
  return ctx;
}

/** Connects, creates the registry's indexes and recovers interrupted operations. */
export async function initialize(ctx: OperationContext, master: Db): Promise<void> {
  // One connection attempt first, so an unreachable server is reported with its cause: after a failed first
  // connection the driver closes the client, and calls made in parallel would only say "Topology is closed".
  await execute('connect', () => master.client.connect());
  await Promise.all([
    ctx.registry.ensureIndexes(),
    ctx.names.ensureIndexes(),
    ctx.keys.ensureIndexes(),
    ctx.journal.ensureIndexes(),
  ]);
  await recoverAll(ctx);
}

/**
 * The record a reference names: by id, or by name through its claim (the
 * claim decides which tenant carries a name, and both reads are by `_id`).
 *
 * @throws {@link TenancyError} `INVALID_INPUT` or `INVALID_NAME` for a malformed reference.
 */
export async function findTenant(ctx: OperationContext, ref: TenantRef): Promise<TenantDocument | null> {
  const key = parseRef(ref);
  if ('id' in key) return ctx.registry.findById(key.id);
  const holder = await ctx.names.holder(key.nameKey);
  const doc = holder ? await ctx.registry.findById(holder) : null;
  return doc?.nameKey === key.nameKey ? doc : null;
}
