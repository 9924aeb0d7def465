/**
 * A separate process that renames a tenant (storage follows the name) and
 * announces each journaled step on stdout; at the step named on the command
 * line it stops and waits to be killed with SIGKILL.
 *
 * Usage: node --import tsx crash-child.ts <uri> <masterDbName> <tenantId> <newName> <stopStep>
 */
import { MongoClient } from 'mongodb';
import { collectionPerTenant, TenantManager } from '../../src/index.js';

const [uri, masterDbName, tenantId, newName, stopStep] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const client = new MongoClient(uri);
const tenants = new TenantManager({
  client,
  masterDbName,
  leaseMs: 5_000,
  strategy: collectionPerTenant({ renameStorage: true }),
  hooks: {
    afterStep: async (event) => {
      process.stdout.write(`${event.op}:${event.step}\n`);
      if (event.step === stopStep) await new Promise(() => setInterval(() => {}, 1_000));
    },
  },
});
await tenants.rename(tenantId, newName);
process.stdout.write('done\n');
await client.close();
