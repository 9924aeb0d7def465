/**
 * mongo-tenancy: multi-tenancy for MongoDB in Node.
 *
 * @packageDocumentation
 */

export { ADMIN_ROLES, type Admin, type AdminRole } from './auth/admins.js';
export {
  type AuthContext,
  AuthService,
  type AuthServiceOptions,
  type LoginResult,
  type RegisterOrganizationInput,
} from './auth/auth-service.js';
export {
  BCRYPT_MAX_BYTES,
  type BcryptHasherOptions,
  bcryptHasher,
  type PasswordHasher,
  type PasswordRules,
} from './auth/passwords.js';
export { ACCESS_TOKEN_TYPE, MIN_SECRET_BYTES, type TokenAlgorithm, type TokenKey } from './auth/tokens.js';
export { DOMAINS_COLLECTION, normalizeDomain, type TenantDomain, TenantDomains } from './context/domains.js';
export {
  type ForEachTenantOptions,
  type ForEachTenantProgress,
  type ForEachTenantReport,
  forEachTenant,
  withTenant,
} from './context/jobs.js';
export { TenantLookups, type TenantLookupsOptions } from './context/lookups.js';
export {
  type DomainSource,
  fromHeader,
  fromHost,
  fromPath,
  fromToken,
  type NamedBy,
  type ResolvedTenant,
  type ResolveTenantOptions,
  resolveTenant,
  type TenantRequest,
  type TenantResolver,
  type TenantSource,
} from './context/resolvers.js';
export {
  type CapturedTenant,
  captureTenant,
  currentTenant,
  requireTenant,
  runWithTenant,
} from './context/tenant-context.js';
export { ERROR_CODES, type ErrorCode, type ErrorDetails, httpStatus, isTenancyError, TenancyError } from './errors.js';
export {
  bearerToken,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  type ProblemResponse,
  requireBearerToken,
  toProblem,
} from './http.js';
export type { Clock } from './internal/clock.js';
export type { Call, CallOptions, Runner } from './internal/execute.js';
export { requireActive } from './tenants/availability.js';
export type { TenantChange, TenantChangeListener } from './tenants/changes.js';
export type { DoctorReport, Finding, FindingKind } from './tenants/doctor.js';
export type { PrepareTenant, TenantExtension, TenantExtensionLink } from './tenants/extensions.js';
export type { CallEvent, OperationKind, StepEvent } from './tenants/lease.js';
export { MAX_NAME_LENGTH } from './tenants/names.js';
export type { Outcome } from './tenants/operation.js';
export {
  type CreateTenantInput,
  DEFAULT_MASTER_DB_NAME,
  type ListOptions,
  type TenantManagerOptions,
} from './tenants/options.js';
export type { PurgeReport } from './tenants/purge.js';
export type { RecoveryReport } from './tenants/recovery.js';
export type { TenantRef } from './tenants/refs.js';
export type { TenantScope } from './tenants/scope.js';
export {
  type CollectionPerTenantOptions,
  collectionPerTenant,
} from './tenants/strategies/collection.js';
export { type DatabasePerTenantOptions, databasePerTenant } from './tenants/strategies/database.js';
export { type SharedCollectionsOptions, sharedCollections } from './tenants/strategies/shared.js';
export type {
  IsolationStrategy,
  KnownStorage,
  StorageDriver,
  StoragePiece,
  StrategyContext,
} from './tenants/strategies/strategy.js';
export type { StrayCount } from './tenants/strategies/tombstone.js';
export { TOMBSTONE_INDEX } from './tenants/strategies/tombstone.js';
export { TenantManager, type TenantPage } from './tenants/tenant-manager.js';
export type {
  CollectionStorage,
  DatabaseStorage,
  SharedStorage,
  StorageKind,
  Tenant,
  TenantStatus,
  TenantStorage,
} from './tenants/types.js';
export { STORAGE_KINDS } from './tenants/types.js';
export type { UpdateMetadataOptions } from './tenants/update-metadata.js';
