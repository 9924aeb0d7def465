/**
 * The embedded development database: the one place that decides which real
 * MongoDB-wire server the examples (`npm start`, `npm run example`), the
 * tests and the benchmarks use when they are given none:
 *
 * 1. `MONGODB_URI` when set;
 * 2. otherwise mongodb-memory-server (a real `mongod`, downloaded once or taken
 *    from `MONGOMS_SYSTEM_BINARY`);
 * 3. otherwise FerretDB v1 with SQLite, built with Go from `test/ferretdb/`
 *    through the Go module proxy and cached under
 *    `node_modules/.cache/mongo-tenancy/`;
 * 4. otherwise an error naming the three options.
 *
 * `MONGO_TENANCY_TEST_SERVER=uri|memory-server|ferretdb` forces one of them.
 * For development and tests only: every embedded database starts empty and
 * is thrown away when stopped.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '..', '..');
const cacheDir = join(root, 'node_modules', '.cache', 'mongo-tenancy');
const ferretSource = join(root, 'test', 'ferretdb');
const ferretBinary = join(cacheDir, 'ferretdb-embedded');
// Where mongodb-memory-server could not download mongod, say so once a day rather than on every run.
const noDownloadMarker = join(cacheDir, 'memory-server-unreachable');
const DAY_MS = 24 * 60 * 60 * 1000;
/** The `code` of a failed download (mongodb-memory-server's `DownloadError`, or Node's system error) with no route out. */
const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** A server to connect to, and how to stop it (connecting to `MONGODB_URI` stops nothing). */
export interface RunningDatabase {
  uri: string;
  stop(): Promise<void>;
}

export type DatabaseKind = 'uri' | 'memory-server' | 'ferretdb';

/** A running development database, and which kind it is. */
export interface DevDatabase extends RunningDatabase {
  kind: DatabaseKind;
}

type Starter = (log: (line: string) => void) => Promise<RunningDatabase>;

const starters: Record<DatabaseKind, Starter> = {
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
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && NETWORK_CODES.has(code)) {
        await mkdir(cacheDir, { recursive: true });
        await writeFile(noDownloadMarker, String(error));
      }
      throw error;
    }
  },
  ferretdb: (log) => startFerretDB(log),
};

function order(): DatabaseKind[] {
  const forced = process.env.MONGO_TENANCY_TEST_SERVER as DatabaseKind | undefined;
  if (forced) {
    if (!(forced in starters)) {
      throw new Error(`MONGO_TENANCY_TEST_SERVER must be one of ${Object.keys(starters).join(', ')}`);
    }
    return [forced];
  }
  return process.env.MONGODB_URI ? ['uri'] : ['memory-server', 'ferretdb'];
}

/**
 * Starts (or connects to) the first server that works, and says which.
 *
 * @throws An `Error` naming the three options and what each attempt gave, when none works.
 */
export async function startDevDatabase(log: (line: string) => void = console.log): Promise<DevDatabase> {
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
      'No MongoDB-wire server is available. Use one of:',
      '  1. MONGODB_URI=mongodb://... (any MongoDB 7+ server),',
      '  2. mongodb-memory-server (needs to download mongod once, or MONGOMS_SYSTEM_BINARY=/path/to/mongod),',
      '  3. FerretDB, built from test/ferretdb with Go >= 1.24 and the Go module proxy.',
      'What was tried:',
      ...failures,
    ].join('\n'),
  );
}

async function sourceStamp(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of ['main.go', 'go.mod', 'go.sum']) {
    hash.update(await readFile(join(ferretSource, file)));
  }
  return hash.digest('hex');
}

/** Builds the FerretDB binary unless a build of the same sources is cached. */
export async function buildFerretDB(log: (line: string) => void = console.log): Promise<string> {
  const stamp = await sourceStamp();
  const stampFile = `${ferretBinary}.stamp`;
  if (existsSync(ferretBinary) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) {
    return ferretBinary;
  }
  await mkdir(cacheDir, { recursive: true });
  log('mongo-tenancy: building FerretDB v1.24.2 from the Go module proxy (first run only, about two minutes)...');
  await promisify(execFile)('go', ['build', '-trimpath', '-o', ferretBinary, '.'], {
    cwd: ferretSource,
    env: { ...process.env, CGO_ENABLED: '0' },
    maxBuffer: 16 * 1024 * 1024,
  });
  await writeFile(stampFile, stamp);
  return ferretBinary;
}

/** Starts FerretDB on a free loopback port with a temporary SQLite directory. */
export async function startFerretDB(log?: (line: string) => void): Promise<RunningDatabase> {
  const bin = await buildFerretDB(log);
  const dataDir = await mkdtemp(join(tmpdir(), 'mongo-tenancy-ferretdb-'));
  const child = spawn(bin, ['--listen', '127.0.0.1:0', '--data', dataDir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const uri = await firstLine(child);
  return {
    uri,
    async stop() {
      const exited = new Promise((done) => child.once('exit', done));
      child.stdin?.end();
      child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((done, fail) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    child.once('exit', (code) => fail(new Error(`FerretDB exited with code ${code} before listening`)));
    child.once('error', fail);
    lines.once('line', (line) => done(line.trim()));
  });
}
