/**
 * `npm run example`: the tour on MONGODB_URI, or on the same embedded database
 * the tests use (mongodb-memory-server, else FerretDB).
 */
import { MongoClient } from 'mongodb';
import { startDevDatabase } from '../shared/dev-database.js';
import { tour } from './tour.js';

const server = await startDevDatabase();
console.log(`database: ${server.kind} at ${server.uri}`);
const client = new MongoClient(server.uri);
try {
  await tour(client, process.env.MASTER_DB_NAME ?? 'org_master_db', console.log);
} finally {
  await client.close();
  await server.stop();
}
