/** A database that cannot be reached is reported with its root cause, not only "Topology is closed". */
import { createServer } from 'node:net';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthService, isTenancyError, type TenancyError, TenantManager } from '../../src/index.js';
import { execute } from '../../src/internal/execute.js';
import { strongSecret } from '../support/auth.js';

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const clients: MongoClient[] = [];
afterAll(() => Promise.all(clients.map((c) => c.close())));

async function unreachableClient(): Promise<MongoClient> {
  const client = new MongoClient(`mongodb://127.0.0.1:${await closedPort()}/`, { serverSelectionTimeoutMS: 300 });
  clients.push(client);
  return client;
}

async function failure(pending: Promise<unknown>): Promise<TenancyError> {
  const error = await pending.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTenancyError(error)) throw new Error(`expected a TenancyError, got ${String(error)}`);
  return error;
}

describe('an unreachable database', () => {
  it('is a STORAGE error whose details name the root cause, the driver error kept as cause', async () => {
    const client = await unreachableClient();
    const error = await failure(execute('probe', () => client.db('x').collection('y').findOne({})));
    expect(error.code).toBe('STORAGE');
    expect(error.details).toMatchObject({ operation: 'probe', reason: 'connection-refused' });
    expect((error.cause as Error).name).toBe('MongoServerSelectionError');
  });

  it('a client the driver closed after a failed first connection is reported as client-closed', async () => {
    const client = await unreachableClient();
    const probe = () => execute('probe', () => client.db('x').collection('y').findOne({}));
    expect((await failure(probe())).details.reason).toBe('connection-refused');
    const error = await failure(probe());
    expect(error.details).toMatchObject({ operation: 'probe', reason: 'client-closed' });
    expect((error.cause as Error).name).toBe('MongoTopologyClosedError');
  });

  it('through the public API: TenantManager.init()', async () => {
    const tenants = new TenantManager({ client: await unreachableClient() });
    const error = await failure(tenants.init());
    expect(error.code).toBe('STORAGE');
    // init() connects once before it runs calls side by side, so the root cause is what is reported.
    expect(error.details.reason).toBe('connection-refused');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('through the public API: the first call of an AuthService', async () => {
    const tenants = new TenantManager({ client: await unreachableClient() });
    const auth = new AuthService({ tenants, tokens: { keys: [{ kid: 'k', alg: 'HS256', secret: strongSecret() }] } });
    const error = await failure(auth.login({ email: 'ada@acme.test', password: 'correct horse battery' }));
    expect(error).toMatchObject({ code: 'STORAGE', details: { reason: 'connection-refused' } });
    await auth.close();
  });

  it('a client closed under a pending call is reported as client-closed', async () => {
    const client = await unreachableClient();
    const pending = failure(execute('probe', () => client.db('x').collection('y').findOne({})));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.close();
    const error = await pending;
    expect(error.code).toBe('STORAGE');
    expect(error.details.reason).toBe('client-closed');
    expect((error.cause as Error).name).toBe('MongoTopologyClosedError');
  });

  it('server errors carry no reason', async () => {
    const error = await failure(
      execute('probe', () => Promise.reject(Object.assign(new Error('dup'), { code: 11000 }))),
    );
    expect(error.details).toEqual({ operation: 'probe', driverCode: 11000 });
  });
});
