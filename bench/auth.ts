/**
 * AuthService benchmarks, each a ratio against a baseline measured in the
 * same run: verify against bare jose.jwtVerify, login against a bare bcrypt
 * comparison, event-loop lag with the worker pool against in-process
 * hashing, unknown email against wrong password, and bcryptjs against a
 * native bcrypt.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import type { MongoClient } from 'mongodb';
import { AuthService, bcryptHasher, type PasswordHasher, TenantManager, type TokenKey } from '../src/index.js';
import { round, type Summary, summarize, table, throughputs, timeEach } from './stats.js';

type CryptoKey = webcrypto.CryptoKey;

const COST = 12;
const PASSWORD = 'correct horse battery staple';

export interface AuthResults {
  verify: Array<{ alg: string; token: 'same' | 'distinct'; bare: number; service: number; ratio: number }>;
  login: { bare: Summary; service: Summary; ratio: number };
  lag: Array<{ mode: string; p99: number; max: number; loginsPerSecond: number }>;
  enumeration: { wrongPassword: Summary; unknownEmail: Summary; ratio: number };
  hashers: Array<{ hasher: string; hash: Summary; verify: Summary }>;
}

async function setup(client: MongoClient, key: TokenKey, hasher: PasswordHasher, label: string) {
  const masterDbName = `bench_auth_${label}_${Date.now().toString(36)}`;
  const tenants = new TenantManager({ client, masterDbName });
  const auth = new AuthService({ tenants, hasher, tokens: { keys: [key] }, throttle: { maxFailures: 1_000 } });
  const email = `${label}@bench.test`;
  await auth.registerOrganization({ name: `Bench ${label}`, email, password: PASSWORD });
  return { auth, email, drop: () => client.db(masterDbName).dropDatabase() };
}

function webcryptoKey(alg: string, key: Uint8Array | KeyObject): Promise<CryptoKey> {
  const algorithm =
    alg === 'HS256'
      ? { name: 'HMAC', hash: 'SHA-256' }
      : alg === 'EdDSA'
        ? { name: 'Ed25519' }
        : { name: 'ECDSA', namedCurve: 'P-256' };
  return key instanceof Uint8Array
    ? webcrypto.subtle.importKey('raw', key, algorithm, false, ['verify'])
    : webcrypto.subtle.importKey('spki', key.export({ type: 'spki', format: 'der' }), algorithm, false, ['verify']);
}

async function verifyRows(client: MongoClient, log: (line: string) => void) {
  const secret = randomBytes(32);
  const ed = generateKeyPairSync('ed25519');
  const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const fast = bcryptHasher({ cost: 4, allowInsecureCostForTests: true, mode: 'in-process' });
  const cases = [
    {
      alg: 'HS256',
      key: { kid: 'h', alg: 'HS256', secret } as TokenKey,
      verifyKey: new Uint8Array(secret),
      perRound: 4_000,
    },
    {
      alg: 'EdDSA',
      key: { kid: 'e', alg: 'EdDSA', privateKey: ed.privateKey } as TokenKey,
      verifyKey: ed.publicKey,
      perRound: 1_500,
    },
    {
      alg: 'ES256',
      key: { kid: 's', alg: 'ES256', privateKey: es.privateKey } as TokenKey,
      verifyKey: es.publicKey,
      perRound: 1_000,
    },
  ];
  const rows: AuthResults['verify'] = [];
  for (const c of cases) {
    log(`verify ${c.alg}...`);
    const { auth, email, drop } = await setup(client, c.key, fast, c.alg.toLowerCase());
    const { token } = await auth.login({ email, password: PASSWORD });
    const options = { algorithms: [c.alg], issuer: 'mongo-tenancy', audience: 'mongo-tenancy', typ: 'at+jwt' };
    // The baseline gets its key as a WebCrypto key too, imported once, as the service does.
    const key = await webcryptoKey(c.alg, c.verifyKey);
    const same = await throughputs(
      () => jwtVerify(token, key, options),
      () => auth.verify(token),
      c.perRound,
    );
    // A distinct token on every call (the same claims, a fresh jti): no cache can skip the signature.
    const claims = decodeJwt(token);
    const signer = c.alg === 'HS256' ? secret : (c.key as { privateKey: KeyObject }).privateKey;
    const distinct: string[] = [];
    for (let i = 0; i < c.perRound * 17 + 600; i++) {
      distinct.push(
        await new SignJWT({ ...claims, jti: randomUUID() })
          .setProtectedHeader({ alg: c.alg, kid: c.key.kid, typ: 'at+jwt' })
          .sign(signer),
      );
    }
    let a = 0;
    let b = 0;
    const fresh = await throughputs(
      () => jwtVerify(distinct[a++ % distinct.length] as string, key, options),
      () => auth.verify(distinct[b++] as string),
      c.perRound,
    );
    for (const [kind, m] of [
      ['same', same],
      ['distinct', fresh],
    ] as const) {
      rows.push({ alg: c.alg, token: kind, bare: Math.round(m.a), service: Math.round(m.b), ratio: round(m.ratio) });
    }
    await drop();
  }
  return rows;
}

async function loginRow(client: MongoClient, log: (line: string) => void) {
  log(`login at cost ${COST}...`);
  const { auth, email, drop } = await setup(
    client,
    { kid: 'h', alg: 'HS256', secret: randomBytes(32) },
    bcryptHasher({ cost: COST }),
    'login',
  );
  const hash = await bcrypt.hash(PASSWORD, COST);
  const runs = 15;
  const bare = summarize(await timeEach(runs, () => bcrypt.compare(PASSWORD, hash)));
  const service = summarize(await timeEach(runs, () => auth.login({ email, password: PASSWORD })));
  const wrong = summarize(
    await timeEach(runs, () => auth.login({ email, password: 'wrong password!' }).catch(() => 0)),
  );
  const unknown = summarize(
    await timeEach(runs, (i) =>
      auth.login({ email: `nobody${i}@bench.test`, password: 'wrong password!' }).catch(() => 0),
    ),
  );
  await auth.close();
  await drop();
  return {
    login: { bare, service, ratio: round(service.median / bare.median) },
    enumeration: { wrongPassword: wrong, unknownEmail: unknown, ratio: round(unknown.median / wrong.median) },
  };
}

async function lagRows(client: MongoClient, log: (line: string) => void) {
  const rows: AuthResults['lag'] = [];
  for (const mode of ['workers', 'in-process'] as const) {
    log(`event-loop lag, 20 concurrent logins, ${mode}...`);
    const hasher = bcryptHasher({ cost: COST, mode });
    const { auth, email, drop } = await setup(
      client,
      { kid: 'h', alg: 'HS256', secret: randomBytes(32) },
      hasher,
      `lag${mode.replace('-', '')}`,
    );
    await auth.login({ email, password: PASSWORD }); // warm the workers and the dummy hash
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const start = performance.now();
    await Promise.all(Array.from({ length: 20 }, () => auth.login({ email, password: PASSWORD })));
    const seconds = (performance.now() - start) / 1000;
    histogram.disable();
    rows.push({
      mode,
      p99: round(histogram.percentile(99) / 1e6),
      max: round(histogram.max / 1e6),
      loginsPerSecond: round(20 / seconds),
    });
    await auth.close();
    await drop();
  }
  return rows;
}

async function hasherRows(log: (line: string) => void) {
  log('bcryptjs against @node-rs/bcrypt...');
  const rows: AuthResults['hashers'] = [];
  const hash = await bcrypt.hash(PASSWORD, COST);
  rows.push({
    hasher: 'bcryptjs (in-process)',
    hash: summarize(await timeEach(7, () => bcrypt.hash(PASSWORD, COST))),
    verify: summarize(await timeEach(7, () => bcrypt.compare(PASSWORD, hash))),
  });
  try {
    const native = await import('@node-rs/bcrypt');
    rows.push({
      hasher: '@node-rs/bcrypt 1.10.8 (native)',
      hash: summarize(await timeEach(7, () => native.hash(PASSWORD, COST))),
      verify: summarize(await timeEach(7, () => native.verify(PASSWORD, hash))),
    });
  } catch {
    log('@node-rs/bcrypt is not installed here; skipping its row');
  }
  return rows;
}

export async function benchAuth(client: MongoClient, log: (line: string) => void): Promise<AuthResults> {
  const verify = await verifyRows(client, log);
  const { login, enumeration } = await loginRow(client, log);
  const lag = await lagRows(client, log);
  const hashers = await hasherRows(log);
  return { verify, login, lag, enumeration, hashers };
}

/** A baseline row, a measured row and the ratio of their medians. */
function versus(baseline: [string, Summary], measured: [string, Summary], ratio: number): string {
  return table(
    ['', 'median', 'p95'],
    [
      [baseline[0], baseline[1].median, baseline[1].p95],
      [measured[0], measured[1].median, measured[1].p95],
      ['ratio of medians', `**${ratio}**`, ''],
    ],
  );
}

export function authMarkdown(r: AuthResults): string {
  const pool = r.lag.find((l) => l.mode === 'workers');
  const inline = r.lag.find((l) => l.mode === 'in-process');
  return [
    '## AuthService',
    '',
    '### verify() with the revocation cache warm, against bare `jose.jwtVerify` (verifications per second, medians of 15 alternating rounds; the ratio is the median of the per-round ratios)',
    '',
    'Target: at least 0.9. "same token" verifies one token again and again, as the issue asks: the service answers',
    'from its verified-token cache. "distinct tokens" gives every call a token never seen before, so the service',
    'checks the signature each time, like jose: this row measures what the service adds to a full verification.',
    '',
    table(
      ['algorithm', 'tokens', 'jose.jwtVerify', 'AuthService.verify', 'ratio'],
      r.verify.map((v) => [
        v.alg,
        v.token === 'same' ? 'same token' : 'distinct tokens',
        v.bare,
        v.service,
        `**${v.ratio}**`,
      ]),
    ),
    '',
    `### login() against a bare bcrypt comparison, cost ${COST} (ms, 15 runs)`,
    '',
    'Target: the service adds at most 10 percent.',
    '',
    versus(['bcryptjs.compare', r.login.bare], ['AuthService.login (worker pool)', r.login.service], r.login.ratio),
    '',
    `### Event-loop lag while 20 logins at cost ${COST} run at once (\`monitorEventLoopDelay\`, ms)`,
    '',
    'Target: p99 at most 20 ms with the default worker pool.',
    '',
    table(
      ['hashing', 'p99 lag', 'max lag', 'logins per second'],
      r.lag.map((l) => [
        l.mode === 'workers' ? 'worker pool (default)' : 'in-process',
        `**${l.p99}**`,
        l.max,
        l.loginsPerSecond,
      ]),
    ),
    '',
    pool && inline
      ? `The pool keeps the event loop ${round(inline.p99 / Math.max(pool.p99, 0.01), 0)}× less blocked at p99.`
      : '',
    '',
    `### Unknown email against wrong password, cost ${COST} (ms, 15 runs)`,
    '',
    'Target: a ratio of medians between 0.8 and 1.25.',
    '',
    versus(
      ['wrong password', r.enumeration.wrongPassword],
      ['unknown email', r.enumeration.unknownEmail],
      r.enumeration.ratio,
    ),
    '',
    `### Hashers at cost ${COST} (ms, 7 runs each): what a pluggable native hasher buys`,
    '',
    table(
      ['hasher', 'hash median', 'verify median'],
      r.hashers.map((h) => [h.hasher, h.hash.median, h.verify.median]),
    ),
  ].join('\n');
}
