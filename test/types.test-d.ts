import type { Collection } from 'mongodb';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ErrorCode,
  isTenancyError,
  TenancyError,
  type Tenant,
  type TenantManager,
  type TenantScope,
} from '../src/index.js';

describe('public types', () => {
  it('scopes give the plain driver Collection of the document type asked for', () => {
    type Order = { total: number };
    expectTypeOf<ReturnType<TenantScope['collection']>>().toEqualTypeOf<Collection<import('mongodb').Document>>();
    expectTypeOf<TenantScope['collection']>().toBeCallableWith('orders');
    const scope = {} as TenantScope;
    expectTypeOf(scope.collection<Order>('orders')).toEqualTypeOf<Collection<Order>>();
  });

  it('tenant records are read-only', () => {
    expectTypeOf<Tenant['id']>().toEqualTypeOf<string>();
    const tenant = {} as Tenant;
    // @ts-expect-error a tenant record cannot be changed
    tenant.name = 'x';
  });

  it('error codes narrow', () => {
    const error = new TenancyError('TENANT_EXISTS');
    expectTypeOf(error.code).toEqualTypeOf<'TENANT_EXISTS'>();
    const unknown: unknown = error;
    if (isTenancyError(unknown, 'CONFLICT', 'TENANT_NOT_FOUND')) {
      expectTypeOf(unknown.code).toEqualTypeOf<'CONFLICT' | 'TENANT_NOT_FOUND'>();
    }
    expectTypeOf<ErrorCode>().toExtend<string>();
  });

  it('manager methods return promises of records', () => {
    expectTypeOf<TenantManager['create']>().returns.toEqualTypeOf<Promise<Tenant>>();
    expectTypeOf<TenantManager['get']>().returns.toEqualTypeOf<Promise<Tenant | null>>();
    expectTypeOf<TenantManager['drop']>().returns.toEqualTypeOf<Promise<boolean>>();
  });
});
