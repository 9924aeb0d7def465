/** `npm start` as a user runs it: a real process that prints its URL, serves, and shuts down cleanly on SIGTERM. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../../examples/reference-server/config.js';
import { routeContext } from '../../examples/reference-server/server.js';
import { strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const main = resolve(import.meta.dirname, '..', '..', 'examples', 'reference-server', 'main.ts');

describe('configuration', () => {
  it('requires SECRET_KEY outside development, naming it', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(expect.objectContaining({ variable: 'SECRET_KEY' }));
    expect(loadConfig({}).secretSource).toBe('generated');
  });

  it('resolves every default, and reads an empty variable as unset (NODE_ENV aside)', () => {
    const defaults = {
      mongoUri: undefined,
      masterDbName: 'org_master_db',
      secretKey: expect.any(String),
      secretSource: 'generated',
      tokenMinutes: 30,
      port: 8000,
      host: '127.0.0.1',
      trustProxy: false,
      tenantLayout: 'collection',
      tenantDbPrefix: undefined,
    };
    expect(loadConfig({})).toEqual(defaults);
    const names = [
      'MONGO_URI',
      'MASTER_DB_NAME',
      'SECRET_KEY',
      'ALGORITHM',
      'ACCESS_TOKEN_EXPIRE_MINUTES',
      'PORT',
      'HOST',
    ];
    const empty = Object.fromEntries(
      [...names, 'TRUST_PROXY', 'TENANT_LAYOUT', 'TENANT_DB_PREFIX'].map((n) => [n, '']),
    );
    expect(loadConfig(empty)).toEqual(defaults);
    expect(loadConfig({ PORT: ' 8080 ', ACCESS_TOKEN_EXPIRE_MINUTES: '5' })).toMatchObject({
      port: 8080,
      tokenMinutes: 5,
    });
    // Only an unset NODE_ENV is development: an empty one still requires SECRET_KEY.
    expect(() => loadConfig({ NODE_ENV: '' })).toThrow(expect.objectContaining({ variable: 'SECRET_KEY' }));
  });

  it('refuses a weak SECRET_KEY, the original example value among them, naming it', () => {
    for (const secret of ['secret', 'your-incredibly-secure-and-long-secret-key']) {
      const config = loadConfig({ NODE_ENV: 'production', SECRET_KEY: secret });
      expect(() => routeContext(client, config)).toThrow(ConfigError);
    }
  });

  it('names other bad variables', () => {
    expect(() => loadConfig({ ALGORITHM: 'none' })).toThrow(expect.objectContaining({ variable: 'ALGORITHM' }));
    expect(() => loadConfig({ ACCESS_TOKEN_EXPIRE_MINUTES: 'soon' })).toThrow(
      expect.objectContaining({ variable: 'ACCESS_TOKEN_EXPIRE_MINUTES' }),
    );
    expect(() => loadConfig({ PORT: '70000' })).toThrow(expect.objectContaining({ variable: 'PORT' }));
  });

  it('reads TENANT_LAYOUT (default collection, the original’s) and TENANT_DB_PREFIX (database layout only)', () => {
    const layoutOf = (env: NodeJS.ProcessEnv) => {
      const { tenantLayout, tenantDbPrefix } = loadConfig(env);
      return { tenantLayout, tenantDbPrefix };
    };
    expect(layoutOf({})).toEqual({ tenantLayout: 'collection', tenantDbPrefix: undefined });
    expect(layoutOf({ TENANT_LAYOUT: '' })).toEqual({ tenantLayout: 'collection', tenantDbPrefix: undefined });
    for (const layout of ['collection', 'database', 'shared']) {
      expect(layoutOf({ TENANT_LAYOUT: ` ${layout} ` }).tenantLayout).toBe(layout);
    }
    expect(layoutOf({ TENANT_LAYOUT: 'database', TENANT_DB_PREFIX: 'org-' })).toEqual({
      tenantLayout: 'database',
      tenantDbPrefix: 'org-',
    });
  });

  it.each<[string, NodeJS.ProcessEnv]>([
    ['TENANT_LAYOUT', { TENANT_LAYOUT: 'Database' }],
    ['TENANT_LAYOUT', { TENANT_LAYOUT: 'per-tenant' }],
    ['TENANT_DB_PREFIX', { TENANT_LAYOUT: 'database', TENANT_DB_PREFIX: 'Tenant_' }],
    ['TENANT_DB_PREFIX', { TENANT_LAYOUT: 'database', TENANT_DB_PREFIX: '1tenant_' }],
    ['TENANT_DB_PREFIX', { TENANT_LAYOUT: 'database', TENANT_DB_PREFIX: 'a_prefix_that_is_too_long_' }],
    ['TENANT_DB_PREFIX', { TENANT_DB_PREFIX: 'tenant_' }], // the collection layout has no tenant databases
    ['TENANT_DB_PREFIX', { TENANT_LAYOUT: 'shared', TENANT_DB_PREFIX: 'tenant_' }],
  ])('refuses a bad %s: %j', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ name: 'ConfigError', variable }));
  });

  it('refuses a master database named with the tenant prefix, and an invalid MASTER_DB_NAME, naming them', async () => {
    const secret = { SECRET_KEY: strongSecret() };
    for (const [variable, env] of [
      ['TENANT_DB_PREFIX', { TENANT_LAYOUT: 'database', MASTER_DB_NAME: 'tenant_master' }],
      ['TENANT_DB_PREFIX', { TENANT_LAYOUT: 'database', TENANT_DB_PREFIX: 'org', MASTER_DB_NAME: 'org_master_db' }],
      ['MASTER_DB_NAME', { MASTER_DB_NAME: 'no spaces' }],
    ] as const) {
      expect(() => routeContext(client, loadConfig({ ...secret, ...env }))).toThrow(
        expect.objectContaining({ name: 'ConfigError', variable }),
      );
    }
    // The collection layout has no tenant databases: the same master database name is fine there.
    const fine = routeContext(client, loadConfig({ ...secret, MASTER_DB_NAME: 'tenant_master' }));
    expect(fine.tenants.master.databaseName).toBe('tenant_master');
    await fine.auth.close();
  });

  it('stops the start on an invalid TENANT_LAYOUT or TENANT_DB_PREFIX (exit code 2, naming it)', async () => {
    const exits = [
      ['TENANT_LAYOUT', { TENANT_LAYOUT: 'databases' }],
      ['TENANT_DB_PREFIX', { TENANT_LAYOUT: 'database', MASTER_DB_NAME: 'tenant_master' }],
    ] as const;
    await Promise.all(
      exits.map(async ([variable, env]) => {
        const proc = spawn(process.execPath, ['--import', 'tsx', main], {
          env: { ...process.env, MONGO_URI: inject('mongoUri'), NODE_ENV: 'development', PORT: '0', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        proc.stderr.on('data', (chunk) => {
          stderr += chunk;
        });
        const code = await new Promise<number | null>((done) => proc.once('exit', (exit) => done(exit)));
        expect(code, stderr).toBe(2);
        expect(stderr).toContain(variable);
      }),
    );
  });
});

it('starts, prints its URL, serves, and stops cleanly on SIGTERM', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      MONGO_URI: inject('mongoUri'),
      MASTER_DB_NAME: dbName('proc'),
      PORT: '0',
      NODE_ENV: 'development',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const url = await new Promise<string>((done, fail) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      lines.push(line);
      const match = /Listening on (http:\/\/\S+)/.exec(line);
      if (match) done(match[1] as string);
    });
    proc.once('exit', (code) => fail(new Error(`exited early (${code}): ${lines.join('\n')}`)));
  });
  expect(lines.join('\n')).toContain('MONGO_URI database');
  expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  proc.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(lines.join('\n')).toContain('SIGTERM: shutting down');
}, 60_000);
