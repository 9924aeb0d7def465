/**
 * Compressed request bodies on both frameworks: a body that does not decompress is bad input (422), an encoding the
 * server does not read is 415 (`CLIENT_ERROR`), both as problems and neither logged as unexpected; a valid one is read.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useTestClient } from '../support/context.js';
import { call, startReference } from '../support/reference-server.js';

const { client, dbName } = useTestClient();
const PASSWORD = 'correct horse battery';
const LOGIN = JSON.stringify({ email: 'zip@x.test', password: PASSWORD });

const compress = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync } as const;
type Encoding = keyof typeof compress;
const ENCODINGS = Object.keys(compress) as Encoding[];

describe.each(['express', 'koa'] as const)('compressed request bodies on %s', (framework) => {
  const log = vi.fn();
  let server: Awaited<ReturnType<typeof startReference>>;
  beforeAll(async () => {
    server = await startReference(framework, client, dbName(`${framework}-zip`), { log });
    const created = await call(server.url, 'POST', '/org/create', {
      body: { organization_name: 'Zip Org', email: 'zip@x.test', password: PASSWORD },
    });
    expect(created.status).toBe(201);
  });
  afterAll(() => server.close());

  async function send(path: string, encoding: string, body: Uint8Array) {
    const response = await fetch(`${server.url}${path}`, {
      method: path === '/org/update' ? 'PUT' : 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      body,
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      // biome-ignore lint/suspicious/noExplicitAny: tests read fields of arbitrary JSON responses
      body: (await response.json()) as Record<string, any>,
    };
  }

  const garbage: Array<[string, (encoding: Encoding) => Uint8Array]> = [
    ['bytes that were never compressed', () => Buffer.from(LOGIN)],
    ['random bytes', () => Buffer.from('1f8b08000000000000ff8a8e0e0d0a00ff00deadbeef', 'hex')],
    ['a stream cut short', (encoding) => compress[encoding](Buffer.from(LOGIN)).subarray(0, 12)],
  ];
  describe.each(ENCODINGS)('Content-Encoding: %s', (encoding) => {
    it.each(garbage)('answers %s with 422 INVALID_INPUT, logging nothing', async (_label, make) => {
      for (const path of ['/admin/login', '/org/create']) {
        const response = await send(path, encoding, make(encoding));
        expect(response.status, path).toBe(422);
        expect(response.type).toContain('application/problem+json');
        expect(response.body).toMatchObject({ status: 422, code: 'INVALID_INPUT' });
      }
      expect(log).not.toHaveBeenCalled();
    });

    it('reads a validly compressed body', async () => {
      const response = await send('/admin/login', encoding, compress[encoding](Buffer.from(LOGIN)));
      expect(response.status).toBe(200);
      expect(response.body.token_type).toBe('bearer');
    });
  });

  it.each(['compress', 'zstd', 'x-unknown'])('answers Content-Encoding: %s with 415, logging nothing', async (enc) => {
    const response = await send('/admin/login', enc, Buffer.from(LOGIN));
    expect(response.status).toBe(415);
    expect(response.type).toContain('application/problem+json');
    // No catalogue code has status 415: a client error, as toProblem answers another library's 4xx.
    expect(response.body).toMatchObject({ status: 415, code: 'CLIENT_ERROR' });
    expect(log).not.toHaveBeenCalled();
  });
});
