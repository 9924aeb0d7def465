/**
 * No dual-package hazard: the package built as it is published, installed into
 * a temporary app, loaded with `require` and with `import` in one process.
 * Both get the same module instance, an error from a second, separate copy is
 * still recognised, and TypeScript sees one set of types for both.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
// Inside the repository, so that the installed copy resolves mongodb, jose, ... from its node_modules.
const app = join(root, 'test-artifacts', `dual-package-${process.pid}-${Date.now()}`);
const installed = join(app, 'node_modules', 'mongo-tenancy');

beforeAll(async () => {
  mkdirSync(installed, { recursive: true });
  // The app's own package.json: without it, the repository's would make `mongo-tenancy` resolve to itself (dist/).
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'dual-package-app', private: true }));
  cpSync(join(root, 'package.json'), join(installed, 'package.json'));
  await build({ outDir: join(installed, 'dist'), silent: true, sourcemap: false });
}, 120_000);

afterAll(() => rmSync(app, { recursive: true, force: true }));

/** Runs a script with plain Node in the app and returns what it printed as JSON. */
async function node(file: string, source: string): Promise<Record<string, unknown>> {
  writeFileSync(join(app, file), source);
  const { stdout } = await run(process.execPath, [file], { cwd: app });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const CHECKS = `
function checks(cjs, esm) {
  const same = ['TenancyError', 'isTenancyError', 'toProblem', 'AuthService', 'TenantManager', 'ERROR_CODES']
    .filter((name) => cjs[name] !== esm[name]);
  const esmNames = Object.keys(esm).filter((name) => name !== 'default').sort();
  const cjsNames = Object.keys(cjs).sort();
  const fromEsm = new esm.TenancyError('TENANT_EXISTS');
  const fromCjs = new cjs.TenancyError('TENANT_EXISTS');
  return {
    differing: same,
    sameExports: JSON.stringify(esmNames) === JSON.stringify(cjsNames),
    esmErrorSeenByCjs: cjs.isTenancyError(fromEsm, 'TENANT_EXISTS') && fromEsm instanceof cjs.TenancyError,
    cjsErrorSeenByEsm: esm.isTenancyError(fromCjs, 'TENANT_EXISTS') && fromCjs instanceof esm.TenancyError,
    status: cjs.toProblem(fromEsm).status,
    code: esm.toProblem(fromCjs).body.code,
  };
}

/** A second, separate copy of the CommonJS build (as two installed versions would be). */
function foreignCopy(require) {
  const path = require.resolve('mongo-tenancy');
  const saved = require.cache[path];
  delete require.cache[path];
  const copy = require(path);
  require.cache[path] = saved;
  return copy;
}

function foreign(copy, mine) {
  const error = new copy.TenancyError('TENANT_EXISTS');
  const problem = mine.toProblem(error);
  return {
    separate: copy.TenancyError !== mine.TenancyError,
    recognised: mine.isTenancyError(error, 'TENANT_EXISTS') && error instanceof mine.TenancyError,
    status: problem.status,
    code: problem.body.code,
    expected: problem.expected,
  };
}
`;

const EXPECTED = {
  differing: [],
  sameExports: true,
  esmErrorSeenByCjs: true,
  cjsErrorSeenByEsm: true,
  status: 409,
  code: 'TENANT_EXISTS',
};
const FOREIGN = { separate: true, recognised: true, status: 409, code: 'TENANT_EXISTS', expected: true };

describe('one process, both module systems', () => {
  it('a CommonJS app that imports the ESM entry gets the same instance', async () => {
    const result = await node(
      'app.cjs',
      `${CHECKS}
const cjs = require('mongo-tenancy');
import('mongo-tenancy').then((esm) => {
  const resolved = require.resolve('mongo-tenancy');
  console.log(JSON.stringify({ ...checks(cjs, esm), foreign: foreign(foreignCopy(require), esm), resolved }));
});`,
    );
    expect(result).toEqual({ ...EXPECTED, foreign: FOREIGN, resolved: join(installed, 'dist', 'index.cjs') });
  });

  it('an ESM app that requires the CommonJS entry gets the same instance', async () => {
    const result = await node(
      'app.mjs',
      `${CHECKS}
import { createRequire } from 'node:module';
import * as esm from 'mongo-tenancy';
const require = createRequire(import.meta.url);
const cjs = require('mongo-tenancy');
console.log(JSON.stringify({ ...checks(cjs, esm), foreign: foreign(foreignCopy(require), cjs) }));`,
    );
    expect(result).toEqual({ ...EXPECTED, foreign: FOREIGN });
  });

  it('TypeScript sees one set of types through import and require', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['esnext'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    writeFileSync(
      join(app, 'esm.mts'),
      `import { AuthService, TenancyError, TenantManager } from 'mongo-tenancy';
export type EsmAuth = AuthService;
export type EsmTenants = TenantManager;
export const EsmError = TenancyError;
`,
    );
    writeFileSync(
      join(app, 'cjs.cts'),
      `import lib = require('mongo-tenancy');
import type { EsmAuth, EsmTenants } from './esm.mjs';
declare const esmAuth: EsmAuth;
declare const esmTenants: EsmTenants;
declare const cjsAuth: lib.AuthService;
export const a: lib.AuthService = esmAuth;
export const b: EsmAuth = cjsAuth;
export const t: lib.TenantManager = esmTenants;
export const e: lib.TenancyError = new lib.TenancyError('TENANT_EXISTS');
`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', app], { cwd: app }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(result).toBe('');
  }, 60_000);
});
