/**
 * A separate process that runs one operation (a create, a rename or a drop)
 * under one layout, and announces on stdout each journaled step
 * (`step:<op>:<step>`) and each database call (`call:<op>:<call>`). At the
 * step named in its spec it stops and waits to be killed with SIGKILL; without
 * one it runs to the end and says `done`.
 *
 * Usage: node --import tsx crash-child.ts '<ChildSpec as JSON>'
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import {
  collectionPerTenant,
  databasePerTenant,
  type IsolationStrategy,
  type StorageKind,
  sharedCollections,
  TenantManager,
} from '../../src/index.js';

export interface ChildSpec {
  readonly uri: string;
  readonly masterDbName: string;
  readonly leaseMs: number;
  readonly layout: StorageKind;
  /** A collection per tenant whose storage follows a rename. */
  readonly renameStorage?: boolean;
  /** The prefix of tenant databases (the database layout). */
  readonly prefix?: string;
  readonly op: 'create' | 'rename' | 'drop';
  /** The tenant renamed or dropped. */
  readonly tenantId?: string;
  /** The name created, or the new name of a rename. */
  readonly name?: string;
  /** The journaled step after which the process stops, waiting for its SIGKILL. */
  readonly stopStep?: string;
  /**
   * A pause after each call that deletes documents, so that a parent watching the documents go has a window to
   * kill the process in the middle of the deleting even on a fast server.
   */
  readonly deletePauseMs?: number;
  /** Documents a shared-collections drop deletes per call (the layout's `deleteBatchSize`). */
  readonly deleteBatchSize?: number;
}

/** The strategy a spec names: the same in the child and in the parent that recovers after it. */
export function childStrategy(
  spec: Pick<ChildSpec, 'layout' | 'renameStorage' | 'prefix' | 'deleteBatchSize'>,
): IsolationStrategy {
  if (spec.layout === 'database') return databasePerTenant({ prefix: spec.prefix as string });
  if (spec.layout === 'shared') return sharedCollections({ deleteBatchSize: spec.deleteBatchSize });
  return collectionPerTenant({ renameStorage: spec.renameStorage ?? false });
}

async function main(spec: ChildSpec): Promise<void> {
  const client = new MongoClient(spec.uri);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const tenants = new TenantManager({
    client,
    masterDbName: spec.masterDbName,
    leaseMs: spec.leaseMs,
    strategy: childStrategy(spec),
    hooks: {
      afterStep: async (event) => {
        say(`step:${event.op}:${event.step}`);
        if (event.step === spec.stopStep) await new Promise(() => setInterval(() => {}, 1_000));
      },
      afterCall: async (event) => {
        say(`call:${event.op}:${event.call}`);
        if (spec.deletePauseMs && event.call === 'delete tenant documents') await sleep(spec.deletePauseMs);
      },
    },
  });
  if (spec.op === 'create') await tenants.create({ name: spec.name as string });
  else if (spec.op === 'rename') await tenants.rename(spec.tenantId as string, spec.name as string);
  else await tenants.drop(spec.tenantId as string);
  say('done');
  await client.close();
}

/** The parent's side: the child process, its stdout lines, and how it ended. */
export interface RunningChild {
  /** Calls `listener` with each line the child writes. */
  readonly onLine: (listener: (line: string) => void) => void;
  readonly kill: () => void;
  /** How it ended: `signal` is `SIGKILL` when it was killed, `null` when it exited by itself. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a child running `spec` (stderr shared with the test's, to show what went wrong). */
export function startChild(spec: ChildSpec): RunningChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout });
  return {
    onLine: (listener) => lines.on('line', listener),
    kill: () => proc.kill('SIGKILL'),
    exited: new Promise((done, fail) => {
      proc.once('error', fail);
      proc.once('exit', (code, signal) => done({ code, signal }));
    }),
  };
}

// Run as a program; a test imports the parent's side above.
if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  await main(JSON.parse(process.argv[2] as string) as ChildSpec);
}
