/**
 * A tour of the TenantManager: create, scope, rename, list, drop.
 * `tour(client, log)` is what runs; `main.ts` gives it an embedded database.
 */

import { collectionPerTenant, TenantManager } from 'mongo-tenancy';
import type { MongoClient } from 'mongodb';

export async function tour(client: MongoClient, masterDbName: string, log: (line: string) => void): Promise<void> {
  const tenants = new TenantManager({ client, masterDbName, strategy: collectionPerTenant({ renameStorage: true }) });
  await tenants.init();

  const acme = await tenants.create({ name: 'Acme Corp', metadata: { plan: 'pro' } });
  log(`created ${acme.name}: collection ${acme.storage.database}.${acme.storage.collection}`);

  const orders = tenants.scope(acme).collection<{ sku: string; qty: number }>('orders');
  await orders.insertMany([
    { sku: 'anvil', qty: 2 },
    { sku: 'rocket', qty: 1 },
  ]);
  log(`inserted ${await orders.countDocuments()} orders into ${orders.collectionName}`);

  const renamed = await tenants.rename(acme.id, 'Acme Industries');
  const moved = tenants.scope(renamed).collection('orders');
  log(`renamed to ${renamed.name}: ${moved.collectionName} holds ${await moved.countDocuments()} orders`);

  await tenants.create({ name: 'Globex' });
  const page = await tenants.list({ limit: 10 });
  log(`organizations: ${page.tenants.map((t) => t.name).join(', ')}`);

  for (const t of page.tenants) await tenants.drop(t.id);
  log(`dropped all; ${(await tenants.list()).tenants.length} left`);
  await tenants.close();
}
