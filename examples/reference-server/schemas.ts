/**
 * The original service's request and response bodies, in snake_case, as zod
 * schemas. They validate requests and they generate the OpenAPI document, so
 * the two never disagree. Unknown fields are rejected (422, one entry each).
 */
import { STORAGE_KINDS } from 'mongo-tenancy';
import { z } from 'zod';

const name = z.string().min(1).max(100).describe('The organization name');
const email = z.string().min(3).max(254).describe('The admin email');
const password = z.string().min(8).max(128).describe('8 to 128 characters, at most 72 bytes of UTF-8');

export const CreateOrgBody = z.object({ organization_name: name, email, password }).strict();
export const GetOrgQuery = z.object({ organization_name: name }).strict();
export const LoginBody = z.object({ email, password: z.string().min(1).max(1024) }).strict();
export const UpdateOrgBody = z
  .object({
    organization_name: name.describe('The new organization name'),
    email: email.optional(),
    password: password.optional(),
  })
  .strict();
export const DeleteOrgInput = z.object({ organization_name: name }).strict();

/** The layouts, as `storage_layout` shows them (TENANT_LAYOUT's values). */
export const StorageLayout = z
  .enum(STORAGE_KINDS)
  .describe(
    "Where the organization's data lives: `collection`, a collection of its own (`collection_name`) in " +
      '`database_name`; `database`, a database of its own (`database_name`), its default collection ' +
      '`collection_name`; `shared`, the documents of `collection_name` in `database_name` whose `tenant_field` ' +
      'holds the `organization_id`',
  );

export const OrgMetadata = z.object({
  organization_id: z.string().describe('Immutable id'),
  organization_name: z.string(),
  storage_layout: StorageLayout,
  collection_name: z
    .string()
    .describe(
      "The organization's default collection: its own under `collection` and `database` layouts, shared under `shared`",
    ),
  database_name: z.string().describe('The database holding that collection: its own under the `database` layout'),
  tenant_field: z
    .string()
    .nullable()
    .describe('Under the `shared` layout, the field holding the `organization_id` in each of its documents; else null'),
  admin_email: z
    .string()
    .nullable()
    .describe("The admin's email: only for a caller holding a token of this organization, else null"),
  created_at: z.string().describe('ISO 8601'),
  updated_at: z.string().describe('ISO 8601'),
});
export const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('Seconds'),
});
export const DeletedResponse = z.object({ detail: z.string() });
export const HealthResponse = z.object({ status: z.literal('ok') });
export const ProblemBody = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  retryAfter: z.number().int().optional(),
});
