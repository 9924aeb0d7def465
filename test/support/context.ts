/** Per-test-file access to the shared test server, with database names of its own. */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, inject } from 'vitest';
import { TenantManager, type TenantManagerOptions } from '../../src/index.js';

export const serverKind = (): string => inject('mongoServerKind');

/**
 * A connected client for this test file. Every database created through
 * `dbName()` is dropped when the file ends, so files can run in parallel.
 */
export function useTestClient() {
  const client = new MongoClient(inject('mongoUri'));
  const created = new Set<string>();
  const prefix = `t${randomBytes(3).toString('hex')}`;
  let counter = 0;
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const name of created) await client.db(name).dropDatabase();
    if (prefixes.length > 0) {
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      for (const { name } of databases.filter((d) => prefixes.some((p) => d.name.startsWith(p)))) {
        await client.db(name).dropDatabase();
      }
    }
    await client.close();
  });
  return {
    client,
    /** A fresh prefix for tenant databases (`databasePerTenant`), unique to this file and call; dropped at the end. */
    dbPrefix(): string {
      const value = `${prefix}p${++counter}_`;
      prefixes.push(value);
      return value;
    },
    /** A fresh database name, unique to this file and call. */
    dbName(label = 'db'): string {
      const name = `${prefix}_${label}_${++counter}`;
      created.add(name);
      return name;
    },
  };
}

/** A manager on a fresh master database of its own. */
export function managerFactory(client: MongoClient, dbName: (label?: string) => string) {
  return (options: Omit<TenantManagerOptions, 'client' | 'db'> = {}) =>
    new TenantManager({ client, masterDbName: dbName('master'), ...options });
}
