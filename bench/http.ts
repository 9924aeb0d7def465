/**
 * HTTP benchmarks with autocannon: the Express auth middleware against the
 * same handler without it (target: at least 0.85 of the bare throughput),
 * the tenant-context middleware (resolve from the token through cached
 * lookups, run in the context) against the auth middleware alone (target: at
 * most 5% slower), and authenticated GET /org/get on the reference server.
 * Every response must be 2xx. Then a cached host lookup against a
 * `Map.get`-backed one (target: at least 0.9).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import express from 'express';
import type { MongoClient } from 'mongodb';
import { problemHandler, requireAuth, tenantContext } from '../examples/express/index.js';
import { listen, routeContext } from '../examples/reference-server/server.js';
import { bcryptHasher, fromToken, resolveTenant, TenantDomains, TenantLookups } from '../src/index.js';
import { round, summarize, table, throughputs } from './stats.js';

const SECONDS = 5;
const ROUNDS = 5;
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
  /** Throughput behind tenantContext against behind requireAuth. */
  contextRatio?: number;
  /** Cached host lookups per second against a Map-backed baseline. */
  hostLookup?: { cached: number; map: number; ratio: number };
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
  const resolve = resolveTenant({ tenants: ctx.lookups, auth: ctx.auth, resolvers: [fromToken()] });
  app.get('/context', tenantContext(resolve), handler);
  app.use(problemHandler());
  const micro = await serve(app);
  const reference = await listen('express', ctx, 0, '127.0.0.1');
  const base = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const runs: Record<string, Array<{ rps: number; p99: number; non2xx: number }>> = {
    bare: [],
    authed: [],
    context: [],
    get: [],
  };
  for (let r = 0; r < ROUNDS; r++) {
    log(`http round ${r + 1}/${ROUNDS}...`);
    const order = r % 2 === 0 ? (['bare', 'authed', 'context'] as const) : (['context', 'authed', 'bare'] as const);
    for (const name of order) runs[name]?.push(await load(`${base(micro)}/${name}`, authorization));
    runs.get?.push(await load(`${base(reference)}/org/get?organization_name=Bench%20Org`, authorization));
  }
  micro.close();
  reference.close();
  log('cached host lookups against a Map...');
  const hostLookup = await hostLookups(ctx.tenants);
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
    row('same handler behind tenantContext (verify, resolve, context; caches warm)', 'context'),
    row('GET /org/get on the reference server, with a token', 'get'),
  ];
  // Each ratio is the median of the per-round ratios: the two routes of a round ran back to back.
  const perRound = (over: string, under: string) =>
    round(summarize((runs[over] ?? []).map((x, i) => x.rps / (runs[under]?.[i]?.rps ?? Number.NaN))).median);
  const ratio = perRound('authed', 'bare');
  const contextRatio = perRound('context', 'authed');
  return { rows, ratio, contextRatio, hostLookup };
}

/**
 * `TenantLookups.find` on a warm cache against the same lookup backed by a
 * plain `Map` (an async function returning `map.get(host)`): what the
 * bounded, expiring cache costs over the cheapest possible one.
 */
async function hostLookups(tenants: ConstructorParameters<typeof TenantLookups>[0]) {
  const domains = new TenantDomains(tenants);
  const tenant = await tenants.create({ name: 'Host Bench' });
  const hosts = Array.from({ length: 100 }, (_, i) => `h${i}.bench.test`);
  for (const host of hosts) await domains.add(tenant.id, host);
  const lookups = new TenantLookups(tenants, { domains, ttlMs: 3_600_000 });
  const map = new Map<string, { id: string } | null>();
  for (const host of hosts) map.set(host, await lookups.find(host));
  const mapped = async (host: string) => map.get(host) ?? null;
  let a = 0;
  let b = 0;
  const m = await throughputs(
    () => mapped(hosts[a++ % hosts.length] as string),
    () => lookups.find(hosts[b++ % hosts.length] as string),
    200_000,
  );
  lookups.close();
  return { cached: Math.round(m.b), map: Math.round(m.a), ratio: round(m.ratio) };
}

export function httpMarkdown(r: HttpResults): string {
  return [
    '## HTTP (Express adapter and reference server)',
    '',
    `autocannon, 10 connections, ${SECONDS} s a run, medians of ${ROUNDS} rounds in alternating order; each ratio is the median of the per-round ratios. The load generator shares the machine's 2 cores with the server, so a single run's ratio moves by about 0.2 either way. Target: the auth middleware keeps at least 0.85 of the bare throughput, with no non-2xx response.`,
    '',
    table(
      ['route', 'requests/s', 'p99 latency (ms)', 'non-2xx'],
      r.rows.map((x) => [x.name, x.requestsPerSecond, x.p99, x.non2xx]),
    ),
    '',
    `Throughput with the auth middleware, against without: **${r.ratio}**.`,
    '',
    `Throughput behind \`tenantContext\` (the token verified, its organization resolved through \`TenantLookups\`, the rest of the request run in its context) against behind \`requireAuth\` alone: **${r.contextRatio ?? '-'}** (target: at least 0.95).`,
    '',
    r.hostLookup
      ? `A cached host lookup (\`TenantLookups.find\`, warm) against a lookup backed by a plain \`Map\`, medians of 15 alternating rounds of 200,000: ${r.hostLookup.cached} against ${r.hostLookup.map} lookups/s, **${r.hostLookup.ratio}** (target: at least 0.9).`
      : '',
  ].join('\n');
}
