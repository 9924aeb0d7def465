/**
 * FerretDB v1 (SQLite backend) as a local MongoDB-wire server, built from the
 * Go module proxy by the tiny program in `test/ferretdb/` and cached under
 * `node_modules/.cache/mongo-tenancy/`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '..', '..');
const sourceDir = join(root, 'test', 'ferretdb');
const cacheDir = join(root, 'node_modules', '.cache', 'mongo-tenancy');
const binary = join(cacheDir, 'ferretdb-embedded');
const stampFile = `${binary}.stamp`;

export interface RunningServer {
  uri: string;
  stop(): Promise<void>;
}

async function sourceStamp(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of ['main.go', 'go.mod', 'go.sum']) {
    hash.update(await readFile(join(sourceDir, file)));
  }
  return hash.digest('hex');
}

/** Builds the FerretDB binary unless a build of the same sources is cached. */
export async function buildFerretDB(log: (line: string) => void = console.log): Promise<string> {
  const stamp = await sourceStamp();
  if (existsSync(binary) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) {
    return binary;
  }
  await mkdir(cacheDir, { recursive: true });
  log('mongo-tenancy: building FerretDB v1.24.2 from the Go module proxy (first run only, about two minutes)...');
  await promisify(execFile)('go', ['build', '-trimpath', '-o', binary, '.'], {
    cwd: sourceDir,
    env: { ...process.env, CGO_ENABLED: '0' },
    maxBuffer: 16 * 1024 * 1024,
  });
  await writeFile(stampFile, stamp);
  return binary;
}

/** Starts FerretDB on a free loopback port with a temporary SQLite directory. */
export async function startFerretDB(log?: (line: string) => void): Promise<RunningServer> {
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
