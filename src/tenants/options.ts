/**
 * The TenantManager's options, validated once with zod at construction into
 * {@link ResolvedManagerOptions} with each default written once, and the
 * schemas of its methods' inputs.
 */
import { type Db, type MongoClient, ObjectId } from 'mongodb';
import { z } from 'zod';
import { type Clock, systemClock } from '../internal/clock.js';
import { HEX_ID } from '../internal/ids.js';
import { validate } from '../internal/validate.js';
import type { CallEvent, StepEvent } from './lease.js';
import type { IsolationStrategy } from './strategies/strategy.js';
import { STORAGE_KINDS, type StorageKind } from './types.js';

/** The master database name when none is given (`MASTER_DB_NAME` in the reference server's environment). */
export const DEFAULT_MASTER_DB_NAME = 'org_master_db';

/** Options of {@link TenantManager}. Give exactly one of `client` and `db`. */
export interface TenantManagerOptions {
  /** Your connected (or connecting) `MongoClient`; the manager never opens another and never closes it. */
  client?: MongoClient;
  /** Or the master database itself; its client is used for tenant storage. */
  db?: Db;
  /** The master database's name, with `client`. Default `org_master_db`. */
  masterDbName?: string;
  /**
   * How new tenants' data is isolated. Default {@link collectionPerTenant}`()`: a collection per tenant in the
   * master database.
   */
  strategy?: IsolationStrategy;
  /**
   * Other layouts, with their options, for tenants created with `layout` (one per kind, none of the
   * `strategy`'s kind). A tenant whose layout is in neither is still served, with that layout's defaults.
   */
  layouts?: IsolationStrategy[];
  /**
   * How long an operation's lease on a tenant lasts without progress, in
   * milliseconds (1,000 to 3,600,000). A crashed holder's operations are
   * recovered once it expires. Default 60,000.
   */
  leaseMs?: number;
  /** The clock used for leases and timestamps. Default: the system clock. */
  clock?: Clock;
  /**
   * Observability hooks, each awaited by the operation: `afterStep` after each
   * journaled step; `afterCall` after each database call an operation (or a
   * recovery taking one over) makes under its lease. Tests use them to stop
   * an operation at any point.
   */
  hooks?: {
    afterStep?: (event: StepEvent) => void | Promise<void>;
    afterCall?: (event: CallEvent) => void | Promise<void>;
  };
}

/** Options of {@link TenantManager.create}. */
export interface CreateTenantInput {
  /** The display name: 1 to 100 characters; it must not collide with another's name key. */
  name: string;
  /** Your JSON data about the organization (at most 16 KiB). */
  metadata?: Record<string, unknown>;
  /**
   * The layout of this tenant's storage, when not the manager's default
   * (`strategy`): a large tenant can have a database of its own while small
   * ones share collections. The layout's options are those given in
   * `layouts`, or its defaults.
   */
  layout?: StorageKind;
}

/** Options of {@link TenantManager.list}. */
export interface ListOptions {
  /** Page size, 1 to 1,000. Default 50. */
  limit?: number;
  /** The `next` cursor of the previous page. */
  after?: string;
}

const isFunction = (value: unknown) => typeof value === 'function';
const STRATEGY = z.custom<IsolationStrategy>(
  (v) =>
    isFunction((v as IsolationStrategy | null)?.bind) &&
    (STORAGE_KINDS as readonly string[]).includes((v as IsolationStrategy).kind),
  'an isolation strategy',
);
const optionsSchema = z
  .object({
    client: z.custom<MongoClient>((v) => isFunction((v as MongoClient | null)?.db), 'a MongoClient').optional(),
    db: z.custom<Db>((v) => isFunction((v as Db | null)?.collection) && !!(v as Db).client, 'a Db').optional(),
    masterDbName: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, 'a database name of 1 to 63 letters, digits, _ or -')
      .optional(),
    strategy: STRATEGY.optional(),
    layouts: z.array(STRATEGY).max(STORAGE_KINDS.length).default([]),
    leaseMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    clock: z.custom<Clock>(isFunction, 'a function returning a Date').default(() => systemClock),
    hooks: z
      .object({
        afterStep: z.custom<(e: StepEvent) => void>(isFunction, 'a function').optional(),
        afterCall: z.custom<(e: CallEvent) => void>(isFunction, 'a function').optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (!o.client === !o.db)
      ctx.addIssue({ code: 'custom', path: ['client'], message: 'give exactly one of client and db' });
    const kinds = [o.strategy?.kind ?? 'collection', ...o.layouts.map((l) => l.kind)];
    if (new Set(kinds).size !== kinds.length)
      ctx.addIssue({ code: 'custom', path: ['layouts'], message: 'one strategy per layout, the default one included' });
    if (o.db && o.masterDbName)
      ctx.addIssue({ code: 'custom', path: ['masterDbName'], message: 'give masterDbName only with client' });
  });

/** The options as the manager uses them: validated, defaults applied. */
export type ResolvedManagerOptions = z.output<typeof optionsSchema>;

/**
 * Validates the manager's options.
 *
 * @throws {@link TenancyError} `INVALID_OPTIONS` naming each invalid option.
 */
export function resolveOptions(options: TenantManagerOptions): ResolvedManagerOptions {
  return validate(optionsSchema, options ?? {}, 'INVALID_OPTIONS', 'TenantManager options');
}

const purgeSchema = z
  .object({
    olderThanMs: z
      .number()
      .int()
      .min(0)
      .default(7 * 24 * 3_600_000),
  })
  .strict();
const doctorSchema = z.object({ fix: z.boolean().default(false) }).strict();
const createInputSchema = z
  .object({ name: z.unknown(), metadata: z.unknown().optional(), layout: z.enum(STORAGE_KINDS).optional() })
  .strict();
const listSchema = z
  .object({
    limit: z.number().int().min(1).max(1_000).default(50),
    after: z
      .string()
      .regex(HEX_ID, 'a cursor returned as `next`')
      .transform((v) => ObjectId.createFromHexString(v))
      .optional(),
  })
  .strict();

export function parseCreateInput(input: unknown): {
  name: unknown;
  metadata?: unknown;
  layout?: StorageKind | undefined;
} {
  return validate(createInputSchema, input, 'INVALID_INPUT', 'create input');
}

export function parseListOptions(input: unknown): { limit: number; after?: ObjectId } {
  return validate(listSchema, input ?? {}, 'INVALID_INPUT', 'list options');
}

export function parsePurgeOptions(input: unknown): { olderThanMs: number } {
  return validate(purgeSchema, input ?? {}, 'INVALID_INPUT', 'purgeTombstones options');
}

export function parseDoctorOptions(input: unknown): { fix: boolean } {
  return validate(doctorSchema, input ?? {}, 'INVALID_INPUT', 'doctor options');
}
