/** A real process, killed with SIGKILL between two steps of a rename that moves storage. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, inject, it } from 'vitest';
import { collectionPerTenant } from '../../src/index.js';
import { managerFactory, useTestClient } from '../support/context.js';
import { assertInvariants } from '../support/invariants.js';

const { client, dbName } = useTestClient();
const child = resolve(import.meta.dirname, '..', 'support', 'crash-child.ts');

function runUntil(args: string[], stopStep: string): Promise<void> {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args, stopStep], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line.endsWith(`:${stopStep}`)) proc.kill('SIGKILL');
    });
    proc.once('exit', (_code, signal) =>
      signal === 'SIGKILL' ? done() : fail(new Error(`child exited without being killed`)),
    );
  });
}

it.each(['key-claimed', 'moved'])(
  'a rename killed after %s is finished by the next init()',
  async (stopStep) => {
    const masterDbName = dbName('kill');
    const make = managerFactory(client, () => masterDbName);
    const strategy = collectionPerTenant({ renameStorage: true });
    const tenants = make({ strategy, leaseMs: 5_000 });
    const t = await tenants.create({ name: 'Killed Corp' });
    await tenants
      .scope(t)
      .collection()
      .insertMany(Array.from({ length: 40 }, (_, i) => ({ i })));
    await tenants
      .scope(t)
      .collection('events')
      .insertMany(Array.from({ length: 8 }, (_, i) => ({ e: i })));

    await runUntil([inject('mongoUri'), masterDbName, t.id, 'Survivor Corp'], stopStep);

    const later = new Date(Date.now() + 10_000);
    const after = make({ strategy, leaseMs: 5_000, clock: () => later });
    await after.init();
    const recovered = await after.get(t.id);
    expect(recovered).toMatchObject({ name: 'Survivor Corp', key: 'survivor_corp', status: 'active' });
    const scope = after.scope(recovered as never);
    expect(await scope.collection().countDocuments()).toBe(40);
    expect(await scope.collection('events').countDocuments()).toBe(8);
    await assertInvariants(client, after, { tenants: 1 });
  },
  60_000,
);
