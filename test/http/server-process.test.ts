/** `npm start` as a user runs it: a real process that prints its URL, serves, and shuts down cleanly on SIGTERM. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../../examples/reference-server/config.js';
import { routeContext } from '../../examples/reference-server/server.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const main = resolve(import.meta.dirname, '..', '..', 'examples', 'reference-server', 'main.ts');

describe('configuration', () => {
  it('requires SECRET_KEY outside development, naming it', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(expect.objectContaining({ variable: 'SECRET_KEY' }));
    expect(loadConfig({}).secretSource).toBe('generated');
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
