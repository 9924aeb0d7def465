/**
 * TRUST_PROXY: which proxies' X-Forwarded-For the login throttle's client key believes, on both frameworks.
 * Off, one client behind the same socket address locks everyone out with it; on, clients behind your proxy are
 * told apart, and hops your setting does not trust are not believed.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../examples/reference-server/config.js';
import { clientAddress, type TrustProxy } from '../../examples/shared/client-address.js';
import { useTestClient } from '../support/context.js';
import { call, startReference } from '../support/reference-server.js';

const { client, dbName } = useTestClient();
const PASSWORD = 'correct horse battery';
const ADMIN = 'admin@proxied.test';

describe('TRUST_PROXY configuration', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['false', false],
    ['0', false],
    ['1', 1],
    [' 2 ', 2],
    ['127.0.0.1', ['127.0.0.1']],
    [
      '10.0.0.0/8, 127.0.0.1,loopback, ::1/128, 192.168.0.0/255.255.0.0',
      ['10.0.0.0/8', '127.0.0.1', 'loopback', '::1/128', '192.168.0.0/255.255.0.0'],
    ],
  ])('reads %j as %j', (value, expected) => {
    expect(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each([
    'true',
    '-1',
    '1.5',
    'proxy.example.com',
    '127.1',
    '10.0.0.0/33',
    '10.0.0.0/8a',
    '::1/129',
    '127.0.0.1,',
    '127.0.0.1/',
    '1/8',
    '99999999999999999999',
  ])('refuses %j with a ConfigError naming TRUST_PROXY', (value) => {
    let thrown: unknown;
    try {
      loadConfig({ TRUST_PROXY: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toMatchObject({ variable: 'TRUST_PROXY' });
  });

  it('stops the start on an invalid value (exit code 2, naming TRUST_PROXY)', async () => {
    const main = resolve(import.meta.dirname, '..', '..', 'examples', 'reference-server', 'main.ts');
    const proc = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, TRUST_PROXY: 'true', NODE_ENV: 'development', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((done) => proc.once('exit', (exit) => done(exit)));
    expect(code).toBe(2);
    expect(stderr).toContain('TRUST_PROXY');
  });
});

describe('the shared client address rule', () => {
  const request = (socket: string, forwarded?: string) => {
    const remote = { remoteAddress: socket };
    const headers = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded };
    return { headers, socket: remote, connection: remote } as unknown as IncomingMessage;
  };
  it.each<[TrustProxy, string, string | undefined, string]>([
    [false, '127.0.0.1', '203.0.113.9', '127.0.0.1'],
    [1, '127.0.0.1', undefined, '127.0.0.1'],
    [1, '127.0.0.1', '203.0.113.9', '203.0.113.9'],
    [1, '127.0.0.1', '198.51.100.7, 203.0.113.9', '203.0.113.9'], // the client wrote the first entry
    [2, '127.0.0.1', '198.51.100.7, 203.0.113.9, 10.0.0.2', '203.0.113.9'],
    [['127.0.0.1'], '127.0.0.1', '198.51.100.7, 203.0.113.9', '203.0.113.9'], // 203.0.113.9 is no proxy of ours
    [['127.0.0.1', '10.0.0.0/8'], '127.0.0.1', '198.51.100.7, 203.0.113.9, 10.0.0.2', '203.0.113.9'],
    [['10.0.0.1'], '127.0.0.1', '203.0.113.9', '127.0.0.1'], // the socket's peer is not trusted: nothing believed
    [['loopback'], '::ffff:127.0.0.1', '203.0.113.9', '203.0.113.9'],
  ])('with %j, socket %s and X-Forwarded-For %j, the client is %s', (trust, socket, forwarded, expected) => {
    expect(clientAddress(trust)(request(socket, forwarded))).toBe(expected);
  });
});

describe.each(['express', 'koa'] as const)('the login throttle behind a proxy on %s', (framework) => {
  /** A server of its own (the lock is per server's database), with one organization and its admin. */
  async function withServer(trustProxy: TrustProxy | undefined, run: (url: string) => Promise<void>) {
    const server = await startReference(
      framework,
      client,
      dbName(`${framework}-proxy`),
      trustProxy === undefined ? {} : { trustProxy },
    );
    try {
      const created = await call(server.url, 'POST', '/org/create', {
        body: { organization_name: 'Proxied Org', email: ADMIN, password: PASSWORD },
      });
      expect(created.status).toBe(201);
      await run(server.url);
    } finally {
      await server.close();
    }
  }
  const login = (url: string, forwarded: string, email: string, password: string) =>
    call(url, 'POST', '/admin/login', { body: { email, password }, headers: { 'x-forwarded-for': forwarded } });
  /** Five failed logins for unknown emails, each claiming the given X-Forwarded-For (a list: one each). */
  async function failFiveTimes(url: string, forwarded: (i: number) => string) {
    for (let i = 0; i < 5; i++) {
      const failed = await login(url, forwarded(i), `nobody${i}@proxied.test`, 'wrong password');
      expect(failed.status).toBe(401);
      expect(failed.body.code).toBe('INVALID_CREDENTIALS');
    }
  }
  const expectLocked = (response: Awaited<ReturnType<typeof call>>) => {
    expect(response.status).toBe(429);
    expect(response.body.code).toBe('LOCKED');
  };

  it('off by default: X-Forwarded-For is ignored, so distinct values from one socket are locked together', async () => {
    await withServer(undefined, async (url) => {
      await failFiveTimes(url, (i) => `203.0.113.${i + 1}`);
      expectLocked(await login(url, '198.51.100.7', ADMIN, PASSWORD));
    });
  });

  it.each<[string, TrustProxy]>([
    ['a hop count of 1', 1],
    ['an address list holding 127.0.0.1', ['10.0.0.0/8', '127.0.0.1']],
  ])('with %s, one client behind the proxy does not lock out an admin behind the same proxy', async (_label, trust) => {
    await withServer(trust, async (url) => {
      await failFiveTimes(url, () => '203.0.113.9');
      expectLocked(await login(url, '203.0.113.9', ADMIN, PASSWORD)); // the failing client itself is locked
      const admin = await login(url, '198.51.100.7', ADMIN, PASSWORD);
      expect(admin.status).toBe(200);
      expect(admin.body.token_type).toBe('bearer');
    });
  });

  it.each<[string, TrustProxy]>([
    ['a hop count of 1', 1],
    ['an address list holding 127.0.0.1', ['127.0.0.1']],
  ])('with %s, an untrusted hop is not believed: a forged first entry does not escape the lock', async (_l, trust) => {
    await withServer(trust, async (url) => {
      // The client at 203.0.113.9 writes its own X-Forwarded-For; the proxy appends the address it saw.
      await failFiveTimes(url, (i) => `198.51.100.${i + 1}, 203.0.113.9`);
      expectLocked(await login(url, '198.51.100.7, 203.0.113.9', ADMIN, PASSWORD));
      expect((await login(url, '198.51.100.7', ADMIN, PASSWORD)).status).toBe(200);
    });
  });

  it('with an address list that does not hold the socket peer, nothing in X-Forwarded-For is believed', async () => {
    await withServer(['10.0.0.1'], async (url) => {
      await failFiveTimes(url, (i) => `203.0.113.${i + 1}`);
      expectLocked(await login(url, '198.51.100.7', ADMIN, PASSWORD));
    });
  });
});
