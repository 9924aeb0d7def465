/**
 * HTTP benchmarks with autocannon: the Express auth middleware against the
 * same handler without it (target: at least 0.85 of the bare throughput),
 * and authenticated GET /org/get on the reference server. Every response
 * must be 2xx.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import express from 'express';
import type { MongoClient } from 'mongodb';
import { problemHandler, requireAuth } from '../examples/express/index.js';
import { listen, routeContext } from '../examples/reference-server/server.js';
import { bcryptHasher } from '../src/index.js';
import { round, summarize, table } from './stats.js';

const SECONDS = 5;
const ROUNDS = 3;
const PASSWORD = 'correct horse battery';

export interface HttpRow {
  name: string;
  requestsPerSecond: number;
  p99: number;
  non2xx: number;
}

export interface HttpResults {
  rows: HttpRow[];
  ratio: number;
}

async function load(url: string, headers: Record<string, string> = {}) {
  const result = await autocannon({ url, connections: 10, duration: SECONDS, headers, workers: 1 });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors + result.timeouts,
  };
}

function serve(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

export async function benchHttp(client: MongoClient, log: (line: string) => void): Promise<HttpResults> {
  const masterDbName = `bench_http_${Date.now().toString(36)}`;
  const ctx = routeContext(
    client,
    { masterDbName, secretKey: randomBytes(32).toString('base64url'), tokenMinutes: 30 },
    bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' }),
  );
  await ctx.auth.registerOrganization({ name: 'Bench Org', email: 'bench@http.test', password: PASSWORD });
  const { token } = await ctx.auth.login({ email: 'bench@http.test', password: PASSWORD });
  const authorization = { authorization: `Bearer ${token}` };

  // The same handler, bare and behind the auth middleware.
  const app = express();
  const handler: express.RequestHandler = (_req, res) => void res.json({ ok: true });
  app.get('/bare', handler);
  app.get('/authed', requireAuth(ctx.auth), handler);
  app.use(problemHandler());
  const micro = await serve(app);
  const reference = await listen('express', ctx, 0, '127.0.0.1');
  const base = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const runs: Record<string, Array<{ rps: number; p99: number; non2xx: number }>> = { bare: [], authed: [], get: [] };
  for (let r = 0; r < ROUNDS; r++) {
    log(`http round ${r + 1}/${ROUNDS}...`);
    const order = r % 2 === 0 ? (['bare', 'authed'] as const) : (['authed', 'bare'] as const);
    for (const name of order) runs[name]?.push(await load(`${base(micro)}/${name}`, authorization));
    runs.get?.push(await load(`${base(reference)}/org/get?organization_name=Bench%20Org`, authorization));
  }
  micro.close();
  reference.close();
  await ctx.auth.close();
  await client.db(masterDbName).dropDatabase();

  const row = (name: string, key: string): HttpRow => {
    const samples = runs[key] ?? [];
    return {
      name,
      requestsPerSecond: round(summarize(samples.map((s) => s.rps)).median, 0),
      p99: summarize(samples.map((s) => s.p99)).median,
      non2xx: samples.reduce((sum, s) => sum + s.non2xx, 0),
    };
  };
  const rows = [
    row('handler without auth', 'bare'),
    row('same handler behind requireAuth (verify, cache warm)', 'authed'),
    row('GET /org/get on the reference server, with a token', 'get'),
  ];
  const ratio = round((rows[1]?.requestsPerSecond ?? 0) / (rows[0]?.requestsPerSecond ?? 1));
  return { rows, ratio };
}

export function httpMarkdown(r: HttpResults): string {
  return [
    '## HTTP (Express adapter and reference server)',
    '',
    `autocannon, 10 connections, ${SECONDS} s a run, medians of ${ROUNDS} alternating runs. Target: the auth middleware keeps at least 0.85 of the bare throughput, with no non-2xx response.`,
    '',
    table(
      ['route', 'requests/s', 'p99 latency (ms)', 'non-2xx'],
      r.rows.map((x) => [x.name, x.requestsPerSecond, x.p99, x.non2xx]),
    ),
    '',
    `Throughput with the auth middleware, against without: **${r.ratio}**.`,
  ].join('\n');
}
