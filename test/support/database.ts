/**
 * The one place that decides which real MongoDB-wire server the tests (and the
 * examples' dev server) use:
 *
 * 1. `MONGODB_URI` when set;
 * 2. otherwise mongodb-memory-server (a real `mongod`, downloaded once or taken
 *    from `MONGOMS_SYSTEM_BINARY`);
 * 3. otherwise FerretDB v1 with SQLite, built with Go from `test/ferretdb/`;
 * 4. otherwise an error naming the three options.
 *
 * `MONGO_TENANCY_TEST_SERVER=uri|memory-server|ferretdb` forces one of them.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type RunningServer, startFerretDB } from './ferretdb.js';

// Where mongodb-memory-server could not download mongod, say so once a day rather than on every run.
const noDownloadMarker = join(
  resolve(import.meta.dirname, '..', '..'),
  'node_modules',
  '.cache',
  'mongo-tenancy',
  'memory-server-unreachable',
);
const DAY_MS = 24 * 60 * 60 * 1000;
const NETWORK_ERRORS = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH/;

export type ServerKind = 'uri' | 'memory-server' | 'ferretdb';

export interface TestServer extends RunningServer {
  kind: ServerKind;
}

type Starter = (log: (line: string) => void) => Promise<RunningServer>;

const starters: Record<ServerKind, Starter> = {
  async uri() {
    const uri = process.env.MONGODB_URI;
    if (!uri) throw new Error('MONGODB_URI is not set');
    return { uri, stop: async () => {} };
  },
  async 'memory-server'() {
    const explicit = process.env.MONGOMS_SYSTEM_BINARY || process.env.MONGO_TENANCY_TEST_SERVER;
    if (!explicit && existsSync(noDownloadMarker) && Date.now() - statSync(noDownloadMarker).mtimeMs < DAY_MS) {
      throw new Error(`mongod could not be downloaded in the last day (delete ${noDownloadMarker} to retry)`);
    }
    const { MongoMemoryServer } = await import('mongodb-memory-server');
    try {
      const server = await MongoMemoryServer.create();
      return { uri: server.getUri(), stop: async () => void (await server.stop()) };
    } catch (error) {
      if (NETWORK_ERRORS.test(String((error as Error).message))) {
        await mkdir(dirname(noDownloadMarker), { recursive: true });
        await writeFile(noDownloadMarker, String((error as Error).message));
      }
      throw error;
    }
  },
  ferretdb: (log) => startFerretDB(log),
};

function order(): ServerKind[] {
  const forced = process.env.MONGO_TENANCY_TEST_SERVER as ServerKind | undefined;
  if (forced) {
    if (!(forced in starters)) {
      throw new Error(`MONGO_TENANCY_TEST_SERVER must be one of ${Object.keys(starters).join(', ')}`);
    }
    return [forced];
  }
  return process.env.MONGODB_URI ? ['uri'] : ['memory-server', 'ferretdb'];
}

/** Starts (or connects to) the first server that works, and says which. */
export async function startTestServer(log: (line: string) => void = console.log): Promise<TestServer> {
  const failures: string[] = [];
  for (const kind of order()) {
    try {
      const server = await starters[kind](log);
      return { ...server, kind };
    } catch (error) {
      failures.push(`- ${kind}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    [
      'No MongoDB-wire server is available for the tests. Use one of:',
      '  1. MONGODB_URI=mongodb://... (any MongoDB 7+ server),',
      '  2. mongodb-memory-server (needs to download mongod once, or MONGOMS_SYSTEM_BINARY=/path/to/mongod),',
      '  3. FerretDB, built from test/ferretdb with Go >= 1.24 and the Go module proxy.',
      'What was tried:',
      ...failures,
    ].join('\n'),
  );
}
