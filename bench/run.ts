/**
 * `npm run bench`: starts (or connects to) the same real server as the tests,
 * runs every benchmark, and writes docs/benchmarks.md and docs/benchmarks.json.
 * Numbers are medians (and p95) of repeated runs in one process; targets are
 * ratios against a baseline measured in the same run, never absolute times.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { startTestServer } from '../test/support/database.js';
import { type AuthResults, authMarkdown, benchAuth } from './auth.js';
import { benchHttp, type HttpResults, httpMarkdown } from './http.js';
import { benchLayouts, type LayoutResults, layoutsMarkdown } from './layouts.js';
import { benchTenants, type TenantResults, tenantsMarkdown } from './tenants.js';

const log = (line: string) => console.log(`bench: ${line}`);
const docs = resolve(import.meta.dirname, '..', 'docs');
const jsonPath = resolve(docs, 'benchmarks.json');
// `npm run bench -- auth` runs one section and keeps the others' last results.
const only = process.argv.slice(2);
const wanted = (section: string) => only.length === 0 || only.includes(section);
const previous = existsSync(jsonPath) ? JSON.parse(await readFile(jsonPath, 'utf8')) : {};

const server = await startTestServer(log);
const client = new MongoClient(server.uri);
try {
  const buildInfo = await client.db('admin').command({ buildInfo: 1 });
  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    server: `${server.kind} (reports MongoDB ${buildInfo.version})`,
  };
  log(`server: ${environment.server}`);
  const tenants: TenantResults | undefined = wanted('tenants') ? await benchTenants(client, log) : previous.tenants;
  const layouts: LayoutResults | undefined = wanted('layouts')
    ? await benchLayouts(client, server.uri, log)
    : previous.layouts;
  const auth: AuthResults | undefined = wanted('auth') ? await benchAuth(client, log) : previous.auth;
  const http: HttpResults | undefined = wanted('http') ? await benchHttp(client, log) : previous.http;
  await writeFile(jsonPath, `${JSON.stringify({ environment, tenants, layouts, auth, http }, null, 2)}\n`);
  await writeFile(
    resolve(docs, 'benchmarks.md'),
    [
      '# Benchmarks',
      '',
      'Written by `npm run bench` (raw numbers in [benchmarks.json](benchmarks.json)). Times are milliseconds on the',
      'machine below, measured from the client; compare the ratios, which are taken within one run.',
      '',
      `- Date: ${environment.date}`,
      `- Node: ${environment.node}; CPU: ${environment.cpu}`,
      `- Server: ${environment.server}`,
      '',
      tenants ? tenantsMarkdown(tenants) : '',
      '',
      layouts ? layoutsMarkdown(layouts) : '',
      '',
      auth ? authMarkdown(auth) : '',
      '',
      http ? httpMarkdown(http) : '',
      '',
    ].join('\n'),
  );
  log('wrote docs/benchmarks.md');
} finally {
  await client.close();
  await server.stop();
}
