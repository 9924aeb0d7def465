/**
 * The three layouts, for tests that run unchanged under each: a strategy
 * factory per layout whose tenant storage this test file cleans up.
 */
import {
  collectionPerTenant,
  databasePerTenant,
  type IsolationStrategy,
  type StorageKind,
  sharedCollections,
} from '../../src/index.js';

export interface LayoutCase {
  readonly kind: StorageKind;
  /** A fresh strategy of this layout (a database per tenant gets a prefix of its own). */
  readonly strategy: () => IsolationStrategy;
}

export function layoutCases(testClient: { dbPrefix: () => string }): LayoutCase[] {
  return [
    { kind: 'collection', strategy: () => collectionPerTenant() },
    { kind: 'database', strategy: () => databasePerTenant({ prefix: testClient.dbPrefix() }) },
    { kind: 'shared', strategy: () => sharedCollections() },
  ];
}
