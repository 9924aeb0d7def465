/**
 * The package as a user gets it: `npm pack`, the tarball installed into a
 * fresh application (dependencies from the npm cache, which the repository's
 * own install filled), then the README's quick start run there with plain
 * Node against the test server, type-checked against the shipped types, and
 * the package loaded from CommonJS.
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  devDependencies: Record<string, string>;
  repository: { url: string };
};
// README links to the guides by absolute URL (they must work from an installed package): the repository's, on main.
const REPOSITORY_BLOB = `${manifest.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/blob/main/`;

interface Output {
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Output> {
  return new Promise((done, fail) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024, timeout: 90_000 },
      (error, stdout, stderr) => {
        if (error) fail(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
        else done({ stdout, stderr });
      },
    );
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** `npm pack` runs no build here: build dist/ first when it is missing or older than src/. */
async function ensureBuilt(): Promise<void> {
  const outputs = ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts'].map((f) => join(root, 'dist', f));
  const built = outputs.every(existsSync) ? Math.min(...outputs.map((f) => statSync(f).mtimeMs)) : 0;
  if (built < newestMtime(join(root, 'src'))) await run(join(root, 'node_modules', '.bin', 'tsup'), [], { cwd: root });
}

/** The README's quick start: its first TypeScript sample, as test/docs.test.ts finds it. */
function quickStart(): string {
  const match = /^```ts\n([\s\S]*?)^```/m.exec(readFileSync(join(root, 'README.md'), 'utf8'));
  if (!match) throw new Error('README.md has no ```ts sample');
  return match[1] as string;
}

function expectedOutput(code: string): string[] {
  return [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => (m[1] as string).trim());
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

// The CommonJS side: require() the package, and tell its errors apart by code, against the test server.
const COMMONJS_CHECK = `
const { MongoClient } = require('mongodb');
const tenancy = require('mongo-tenancy');

(async () => {
  console.log(require.resolve('mongo-tenancy').endsWith('dist/index.cjs'));
  try {
    new tenancy.TenantManager({});
  } catch (error) {
    console.log(tenancy.isTenancyError(error, 'INVALID_OPTIONS'), error instanceof tenancy.TenancyError, error.code, error.name);
  }
  const client = new MongoClient(process.env.MONGODB_URI);
  const tenants = new tenancy.TenantManager({ client, masterDbName: process.env.MASTER_DB_NAME });
  await tenants.create({ name: 'Acme Corp' });
  try {
    await tenants.create({ name: 'ACME corp' });
  } catch (error) {
    const problem = tenancy.toProblem(error);
    console.log(tenancy.isTenancyError(error, 'TENANT_EXISTS'), problem.status, problem.body.code);
  }
  console.log(tenancy.isTenancyError(new Error('not ours')));
  try {
    new tenancy.AuthService({ tenants, tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: process.env.UNSET_SECRET }] } });
  } catch (error) {
    console.log(error.code, error.details.field);
  }
  const invalidJson = Object.assign(new SyntaxError('Unexpected token'), { status: 400, expose: true, type: 'entity.parse.failed' });
  const tooLarge = Object.assign(new Error('request entity too large'), { status: 413, expose: true, type: 'entity.too.large' });
  console.log(tenancy.toProblem(invalidJson).status, tenancy.toProblem(tooLarge).status);
  await client.close();
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

describe('the packed package, installed into an application', () => {
  const work = mkdtempSync(join(tmpdir(), 'mongo-tenancy-pack-'));
  const app = join(work, 'app');
  const masters: string[] = [];
  let packed: string[] = [];

  /** A fresh master database for one run, dropped after the tests. */
  function environment(): NodeJS.ProcessEnv {
    const master = `pack_${randomBytes(4).toString('hex')}`;
    masters.push(master);
    return {
      MONGODB_URI: inject('mongoUri'),
      MASTER_DB_NAME: master,
      SECRET_KEY: randomBytes(32).toString('base64url'),
      NODE_OPTIONS: '',
    };
  }

  beforeAll(async () => {
    await ensureBuilt();
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root });
    const [report] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    if (!report) throw new Error(`npm pack reported nothing: ${stdout}`);
    packed = report.files.map((f) => f.path);

    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const dependencies = ['mongodb', 'express', '@types/express', '@types/node'].map(
      (name) => `${name}@${manifest.devDependencies[name]}`,
    );
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, report.filename), ...dependencies],
      { cwd: app },
    );
  }, 120_000);

  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    const client = new MongoClient(inject('mongoUri'));
    for (const master of masters) await client.db(master).dropDatabase();
    await client.close();
  });

  it('runs the README quick start with plain Node (ESM)', async () => {
    const code = quickStart();
    const javascript = ts.transpileModule(code, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(join(app, 'quick-start.mjs'), javascript);
    const { stdout } = await run(process.execPath, ['quick-start.mjs'], { cwd: app, env: environment() });
    expect(lines(stdout)).toEqual(expectedOutput(code));
  }, 60_000);

  it('runs the README quick start from CommonJS (require, in an async function)', async () => {
    const code = quickStart();
    const imports = code.split('\n').filter((line) => line.startsWith('import '));
    const body = code.split('\n').filter((line) => !line.startsWith('import '));
    const wrapped = [
      ...imports,
      '(async () => {',
      ...body,
      '})().catch((error) => {',
      '  console.error(error);',
      '  process.exitCode = 1;',
      '});',
    ].join('\n');
    const javascript = ts.transpileModule(wrapped, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    expect(javascript).toContain('require("mongo-tenancy")');
    writeFileSync(join(app, 'quick-start.cjs'), javascript);
    const { stdout } = await run(process.execPath, ['quick-start.cjs'], { cwd: app, env: environment() });
    expect(lines(stdout)).toEqual(expectedOutput(code));
  }, 60_000);

  it('type-checks the README quick start against the shipped types', async () => {
    writeFileSync(join(app, 'quick-start.ts'), quickStart());
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['quick-start.ts'] }));
    await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app });
  }, 60_000);

  it('loads with require() and recognises its own errors (CommonJS)', async () => {
    writeFileSync(join(app, 'check.cjs'), COMMONJS_CHECK);
    const { stdout } = await run(process.execPath, ['check.cjs'], { cwd: app, env: environment() });
    expect(lines(stdout)).toEqual([
      'true',
      'true true INVALID_OPTIONS TenancyError',
      'true 409 TENANT_EXISTS',
      'false',
      'INVALID_OPTIONS tokens.keys.0.secret',
      '400 413',
    ]);
  }, 60_000);

  it('ships the guides the README links to', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\((https:\/\/[^)\s]+)\)/g)]
      .map((m) => m[1] as string)
      .filter((url) => url.startsWith(REPOSITORY_BLOB))
      .map((url) => url.slice(REPOSITORY_BLOB.length).replace(/#.*$/, ''));
    expect(linked).toContain('docs/tenants.md');
    for (const path of linked) expect(existsSync(join(root, path)), path).toBe(true);
    const guides = linked.filter((path) => path.startsWith('docs/'));
    expect(packed.filter((path) => guides.includes(path)).sort()).toEqual([...new Set(guides)].sort());
  });
});
