/**
 * Layout benchmarks, each a ratio measured in one run:
 *
 * - create, get and drop under each layout with 10 and with 1,000 tenants,
 *   against the same layout at 10 and against the collection layout;
 * - connections the driver opens (CMAP `connectionCreated`) while one client
 *   touches 10 tenant databases against 1,000 (a database per tenant);
 * - the shared-collections handle against the raw `Collection` it wraps:
 *   `findOne` by `_id` and `insertOne`;
 * - dropping a shared tenant of 100,000 documents beside another tenant's.
 */
import { performance } from 'node:perf_hooks';
import { MongoClient, type ObjectId } from 'mongodb';
import {
  collectionPerTenant,
  databasePerTenant,
  type IsolationStrategy,
  type StorageKind,
  sharedCollections,
  type Tenant,
  TenantManager,
} from '../src/index.js';
import { pairedThroughputs, round, type Summary, summarize, table, timeEach } from './stats.js';

const COUNTS = [10, 1_000] as const;
/** Creates (then drops of the tenants created) per layout and tenant count; gets are 5× as many. */
const RUNS = 20;
const GETS = RUNS * 5;
/** Database operations each connection run makes, and how many are in flight at once. */
const TOUCHES = 1_000;
const IN_FLIGHT = 8;
const DROP_DOCUMENTS = 100_000;
const OTHER_DOCUMENTS = 10_000;
/** What the drop deletes per call: the layout's default `deleteBatchSize`, written out to say it in the report. */
const DELETE_BATCH = 10_000;
/** The default lease; a call's deadline is a quarter of it. */
const LEASE_MS = 60_000;
const HANDLE_GOAL = 0.95;
/** Orders of the tenant whose handle is measured (the other tenants have 2 each). */
const OWN_ORDERS = 1_000;

type Row = { layout: StorageKind; op: string; tenants: number } & Summary;

export interface LayoutResults {
  runs: number;
  gets: number;
  /** Seconds it took to bring each layout from 10 to 1,000 tenants (the setup the sample sizes are chosen for). */
  setup: Array<{ layout: StorageKind; created: number; seconds: number }>;
  scale: Row[];
  connections: {
    touches: number;
    inFlight: number;
    rows: Array<{ databases: number; opened: number }>;
    ratio: number;
  };
  handle: Array<{ op: string; raw: number; handle: number; ratio: number }>;
  sharedDrop: {
    documents: number;
    others: number;
    seconds: number;
    perSecond: number;
    batches: number;
    /** Median and slowest batch in seconds (a batch: find the next `DELETE_BATCH` `_id`s, delete their range). */
    medianBatch: number;
    slowestBatch: number;
    otherIntact: boolean;
  };
  seconds: number;
}

/** Runs `fn(i)` for i < total, `inFlight` at a time. */
async function concurrently(total: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}

export async function benchLayouts(
  client: MongoClient,
  uri: string,
  log: (line: string) => void,
): Promise<LayoutResults> {
  const started = performance.now();
  const stamp = Date.now().toString(36);
  const prefix = `bl${stamp}_`;
  const layouts: Array<[StorageKind, () => IsolationStrategy]> = [
    ['collection', () => collectionPerTenant()],
    ['database', () => databasePerTenant({ prefix })],
    ['shared', () => sharedCollections()],
  ];
  const scale: Row[] = [];
  const setup: LayoutResults['setup'] = [];
  let connections: LayoutResults['connections'] | undefined;
  let handle: LayoutResults['handle'] = [];
  for (const [layout, strategy] of layouts) {
    const masterDbName = `bench_layouts_${layout}_${stamp}`;
    const tenants = new TenantManager({ client, masterDbName, strategy: strategy() });
    await tenants.init();
    const existing: Tenant[] = [];
    try {
      for (const count of COUNTS) {
        const start = performance.now();
        const from = existing.length;
        while (existing.length < count) existing.push(await tenants.create({ name: `Existing ${existing.length}` }));
        const seconds = round((performance.now() - start) / 1000, 1);
        log(`${layout}: ${existing.length - from} tenants created in ${seconds} s; measuring at ${count}...`);
        if (from > 0) setup.push({ layout, created: existing.length - from, seconds });
        scale.push(...(await operations(tenants, existing, layout)));
      }
      if (layout === 'database') {
        log('connections: 10 against 1,000 tenant databases...');
        connections = await countConnections(uri, masterDbName, strategy, existing);
      }
      if (layout === 'shared') {
        log('shared handle against the raw collection...');
        handle = await handleAgainstRaw(client, tenants, existing);
      }
    } finally {
      await client.db(masterDbName).dropDatabase();
      if (layout === 'database') await dropDatabasesUnder(client, prefix);
    }
  }
  log(`dropping a shared tenant of ${DROP_DOCUMENTS.toLocaleString('en')} documents...`);
  const sharedDrop = await dropShared(client, `bench_layouts_drop_${stamp}`);
  if (!connections) throw new Error('the database layout did not run');
  return {
    runs: RUNS,
    gets: GETS,
    setup,
    scale,
    connections,
    handle,
    sharedDrop,
    seconds: round((performance.now() - started) / 1000, 0),
  };
}

/** create, get by id, get by name and drop, with `existing.length` tenants registered (the created ones dropped again). */
async function operations(tenants: TenantManager, existing: Tenant[], layout: StorageKind): Promise<Row[]> {
  const count = existing.length;
  const made: Tenant[] = [];
  const create = await timeEach(RUNS, async (i) => made.push(await tenants.create({ name: `Bench ${count} ${i}` })));
  const at = (i: number) => existing[(i * 7) % count] as Tenant; // spread over the registry
  for (let i = 0; i < 10; i++) await Promise.all([tenants.get(at(i).id), tenants.get({ name: at(i).name })]); // warm up
  const getById = await timeEach(GETS, async (i) => {
    if ((await tenants.get(at(i).id))?.id !== at(i).id) throw new Error('get by id missed');
  });
  const getByName = await timeEach(GETS, async (i) => {
    if ((await tenants.get({ name: at(i).name }))?.id !== at(i).id) throw new Error('get by name missed');
  });
  const drop = await timeEach(RUNS, async (i) => {
    if (!(await tenants.drop((made[i] as Tenant).id))) throw new Error('drop found no tenant');
  });
  return Object.entries({ create, 'get (id)': getById, 'get (name)': getByName, drop }).map(([op, samples]) => ({
    layout,
    op,
    tenants: count,
    ...summarize(samples),
  }));
}

/**
 * Connections a fresh client opens while making `TOUCHES` reads, `IN_FLIGHT`
 * at a time, spread over the first 10 tenant databases, then over all 1,000:
 * the same work and concurrency, only the number of databases differs.
 */
async function countConnections(
  uri: string,
  masterDbName: string,
  strategy: () => IsolationStrategy,
  existing: Tenant[],
): Promise<LayoutResults['connections']> {
  const rows: LayoutResults['connections']['rows'] = [];
  for (const databases of COUNTS) {
    const fresh = new MongoClient(uri);
    let opened = 0;
    fresh.on('connectionCreated', () => {
      opened += 1;
    });
    try {
      await fresh.connect();
      const tenants = new TenantManager({ client: fresh, masterDbName, strategy: strategy() });
      const touched = existing.slice(0, databases);
      if (new Set(touched.map((t) => t.storage.database)).size !== databases) throw new Error('databases not distinct');
      await concurrently(TOUCHES, IN_FLIGHT, (i) =>
        tenants
          .scope(touched[i % databases] as Tenant)
          .collection()
          .findOne({}),
      );
      rows.push({ databases, opened });
    } finally {
      await fresh.close();
    }
  }
  const [few, many] = rows;
  return { touches: TOUCHES, inFlight: IN_FLIGHT, rows, ratio: round((many?.opened ?? 0) / (few?.opened ?? 1)) };
}

/**
 * The scoped handle of one tenant against the raw collection it wraps, in a
 * shared collection holding every tenant's orders: `findOne({ _id })` (the
 * raw side sends the same query), and `insertOne` (the raw side stamps the
 * tenant field itself, as a careful application would).
 */
async function handleAgainstRaw(
  client: MongoClient,
  tenants: TenantManager,
  existing: Tenant[],
): Promise<LayoutResults['handle']> {
  const tenant = existing[0] as Tenant;
  const orders = tenants.scope(tenant).collection('orders');
  const field = tenant.storage.strategy === 'shared' ? tenant.storage.field : 'tenantId';
  // The raw collection under the handle, from the names the handle passes through.
  const bare = client.db(orders.dbName).collection(orders.collectionName);
  // Two orders for every other tenant, then the measured tenant's.
  await bare.insertMany(
    existing.slice(1).flatMap((t) => Array.from({ length: 2 }, (_, i) => ({ [field]: t.id, sku: `s${i}`, total: i }))),
  );
  const ids: ObjectId[] = [];
  for (let i = 0; i < OWN_ORDERS; i++) {
    ids.push((await orders.insertOne({ sku: `s${i}`, total: i })).insertedId as ObjectId);
  }
  // Each side walks the same sequence of ids (spread over the tenant's orders), so both read the same documents.
  const walker = () => {
    let k = 0;
    return () => ids[(k++ * 389) % ids.length] as ObjectId;
  };
  const rawId = walker();
  const handleId = walker();
  const found = (what: string) => (d: unknown) => d ?? Promise.reject(new Error(`${what} findOne missed`));
  const findOne = await pairedThroughputs(
    () => bare.findOne({ _id: rawId() }).then(found('raw')),
    () => orders.findOne({ _id: handleId() }).then(found('handle')),
    200,
  );
  let n = 0;
  const insertOne = await pairedThroughputs(
    () => bare.insertOne({ [field]: tenant.id, sku: 'raw', total: n++ }),
    () => orders.insertOne({ sku: 'handle', total: n++ }),
    300,
  );
  if ((await bare.countDocuments({ sku: 'handle', [field]: { $ne: tenant.id } })) !== 0) {
    throw new Error('a handle insert missed its tenant field');
  }
  return [
    { op: 'findOne by `_id`', raw: round(findOne.a, 0), handle: round(findOne.b, 0), ratio: round(findOne.ratio) },
    { op: 'insertOne', raw: round(insertOne.a, 0), handle: round(insertOne.b, 0), ratio: round(insertOne.ratio) },
  ];
}

/**
 * One drop of a shared tenant holding `DROP_DOCUMENTS` documents, written
 * interleaved with another tenant's `OTHER_DOCUMENTS`; each batch of the drop
 * timed through the `afterCall` hook.
 */
async function dropShared(client: MongoClient, masterDbName: string): Promise<LayoutResults['sharedDrop']> {
  const deletes: number[] = [];
  const tenants = new TenantManager({
    client,
    masterDbName,
    leaseMs: LEASE_MS,
    strategy: sharedCollections({ deleteBatchSize: DELETE_BATCH }),
    hooks: {
      afterCall: ({ call }) => {
        if (call === 'delete tenant documents') deletes.push(performance.now());
      },
    },
  });
  await tenants.init();
  try {
    const big = await tenants.create({ name: 'Big Org' });
    const other = await tenants.create({ name: 'Other Org' });
    const bigOrders = tenants.scope(big).collection();
    const otherOrders = tenants.scope(other).collection();
    const batch = 10_000;
    const otherPerBatch = (OTHER_DOCUMENTS * batch) / DROP_DOCUMENTS;
    const doc = (n: number) => ({ n, label: `document ${n}`, tags: ['a', 'b'] });
    for (let done = 0; done < DROP_DOCUMENTS; done += batch) {
      await bigOrders.insertMany(
        Array.from({ length: batch }, (_, i) => doc(done + i)),
        { ordered: false },
      );
      await otherOrders.insertMany(Array.from({ length: otherPerBatch }, (_, i) => doc(done + i)));
    }
    if ((await bigOrders.countDocuments()) !== DROP_DOCUMENTS) throw new Error('fill failed');
    const start = performance.now();
    deletes.push(start);
    if (!(await tenants.drop(big.id))) throw new Error('drop found no tenant');
    const seconds = (performance.now() - start) / 1000;
    if (big.storage.strategy !== 'shared') throw new Error('not a shared tenant');
    const raw = client.db(big.storage.database).collection(big.storage.collection);
    const left = await raw.countDocuments({ [big.storage.field]: big.id });
    if (left !== 0) throw new Error(`${left} documents of the dropped tenant left`);
    const otherIntact = (await otherOrders.countDocuments()) === OTHER_DOCUMENTS;
    // The time of batch k is from the end of the (k-1)th delete (or the drop's start) to the end of the kth: its
    // find and its delete (the first also carries the drop's journal steps).
    const batches = deletes.slice(1).map((t, k) => (t - (deletes[k] as number)) / 1000);
    return {
      documents: DROP_DOCUMENTS,
      others: OTHER_DOCUMENTS,
      seconds: round(seconds, 1),
      perSecond: round(DROP_DOCUMENTS / seconds, 0),
      batches: batches.length,
      medianBatch: round(summarize(batches).median, 2),
      slowestBatch: round(Math.max(...batches), 2),
      otherIntact,
    };
  } finally {
    await client.db(masterDbName).dropDatabase();
  }
}

async function dropDatabasesUnder(client: MongoClient, prefix: string): Promise<void> {
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  await concurrently(databases.length, 4, async (i) => {
    const name = (databases[i] as { name: string }).name;
    if (name.startsWith(prefix)) await client.db(name).dropDatabase();
  });
}

const met = (ok: boolean) => (ok ? 'met' : '**not met**');

export function layoutsMarkdown(r: LayoutResults): string {
  const median = (layout: StorageKind, op: string, tenants: number) =>
    r.scale.find((x) => x.layout === layout && x.op === op && x.tenants === tenants)?.median ?? Number.NaN;
  const ops = [...new Set(r.scale.map((x) => x.op))];
  const kinds = [...new Set(r.scale.map((x) => x.layout))];
  const [few, many] = COUNTS;
  const scaleRows = ops.flatMap((op) =>
    kinds.map((layout) => {
      const a = median(layout, op, few);
      const b = median(layout, op, many);
      return [
        op,
        layout,
        a,
        b,
        `**${round(b / a)}**`,
        round(a / median('collection', op, few)),
        round(b / median('collection', op, many)),
      ];
    }),
  );
  const c = r.connections;
  const connectionGoal = c.ratio === 1;
  const handleRows = r.handle.map((h) => [h.op, h.raw, h.handle, `**${h.ratio}**`, met(h.ratio >= HANDLE_GOAL)]);
  const handleMet = r.handle.every((h) => h.ratio >= HANDLE_GOAL);
  const d = r.sharedDrop;
  return [
    '## Layouts',
    '',
    `\`npm run bench -- layouts\` took ${r.seconds} s: ${round(
      r.setup.reduce((sum, x) => sum + x.seconds, 0),
      0,
    )} s growing the three registries from ${few} to ${many.toLocaleString('en')} tenants,`,
    `and ${round(d.seconds, 0)} s the one drop of the ${d.documents.toLocaleString('en')}-document tenant.`,
    '',
    '### Goals',
    '',
    table(
      ['measure', 'goal', 'measured', 'status'],
      [
        [
          'connections opened, 1,000 tenant databases against 10',
          '1 (one pool for every database)',
          `**${c.ratio}**`,
          met(connectionGoal),
        ],
        ...r.handle.map((h) => [
          `shared handle against the raw collection, ${h.op}`,
          `at least ${HANDLE_GOAL}`,
          `**${h.ratio}**`,
          met(h.ratio >= HANDLE_GOAL),
        ]),
        ['create, get and drop at 1,000 tenants against 10', 'none set: reported', 'table below', '-'],
        [
          `dropping a shared tenant of ${d.documents.toLocaleString('en')} documents`,
          'none set: reported',
          `${d.perSecond} documents/s`,
          '-',
        ],
      ],
    ),
    '',
    `### create, get and drop with 10 and 1,000 tenants registered (median ms of ${r.runs} creates and drops, ${r.gets} gets)`,
    '',
    'Each layout has a master database of its own, grown from 10 tenants to 1,000 (tenants hold no documents); the tenants',
    'a create makes are the ones the drop removes, so the count stays put. "1,000 / 10" is the median at 1,000 over the',
    'median at 10 of the same layout; the last two columns divide by the collection layout at the same count.',
    '',
    table(
      [
        'operation',
        'layout',
        '10 tenants',
        '1,000 tenants',
        '1,000 / 10',
        'vs collection (10)',
        'vs collection (1,000)',
      ],
      scaleRows,
    ),
    '',
    `Growing each registry took ${r.setup.map((s) => `${s.seconds} s (${s.layout}, ${s.created} creates)`).join(', ')};`,
    `that is why each figure is the median of ${r.runs} (or ${r.gets}) runs rather than more.`,
    '',
    'The three layouts grow alike: what grows is the registry, which every layout shares. On FerretDB v1 every query',
    'reads its collection in order (one on `_id` alone more cheaply per document), so the registry and claim lookups',
    'behind create, get and drop slow down with 1,000 tenants (see the TenantManager section above and',
    '[compatibility.md](compatibility.md)); on MongoDB they are index lookups.',
    '',
    `### Connections: one client touching 10 tenant databases, then 1,000 (a database per tenant)`,
    '',
    `A fresh \`MongoClient\` for each row makes the same ${c.touches.toLocaleString('en')} reads (\`findOne\` on a tenant's default`,
    `collection, ${c.inFlight} in flight), spread over 10 databases or over 1,000; the count is the driver's CMAP`,
    '`connectionCreated` events. Goal: the same number (ratio 1), since the pool belongs to the client, not to a database.',
    '',
    table(
      ['tenant databases touched', 'connections opened'],
      c.rows.map((x) => [x.databases.toLocaleString('en'), x.opened]),
    ),
    '',
    `Ratio 1,000 / 10: **${c.ratio}**, goal ${met(connectionGoal)}.`,
    '',
    '### Shared collections: the scoped handle against the raw `Collection` (operations per second)',
    '',
    `One tenant (${OWN_ORDERS.toLocaleString('en')} orders) of the ${many.toLocaleString('en')} in the shared \`orders\` collection (2 orders`,
    'each for the others), through its handle and through the driver collection the handle wraps: 15 rounds, each of',
    'pairs of one call per side in alternating order, each call timed on its own, so both sides meet the server in',
    'the same state; the ratio is the median of the per-round ratios. The raw side sends what a careful application would:',
    '`findOne({ _id })`, and `insertOne` of a document already carrying the tenant field. The handle sends a find by',
    "`_id` alone as it is and checks the tenant field of the document returned; it inserts a copy of the caller's",
    `document with the field added. Goal: at least ${HANDLE_GOAL}. On FerretDB v1 even a find by \`_id\` alone reads`,
    'the collection in order until it finds the document (more cheaply per document than other filters), so the rate',
    'depends on where the documents lie; both sides read the same documents in the same order.',
    '',
    table(['operation', 'raw Collection', 'scoped handle', 'ratio', 'goal'], handleRows),
    '',
    `Goal ${met(handleMet)}.`,
    '',
    `### Dropping a shared tenant of ${d.documents.toLocaleString('en')} documents`,
    '',
    `One \`drop\` of a tenant whose ${d.documents.toLocaleString('en')} documents were written interleaved with another`,
    `tenant's ${d.others.toLocaleString('en')} in the same shared collection. The drop deletes in batches under its lease:`,
    `find the next ${DELETE_BATCH.toLocaleString('en')} \`_id\`s of the tenant in \`_id\` order, delete the range they span, again`,
    '(`deleteBatchSize`, default 10,000, the most per batch: a batch whose slower call took over half its deadline',
    'halves the next); the batches are timed through the `afterCall` hook. The issue sets no goal',
    `for this rate; it is reported, with the slowest batch against a call's deadline (a quarter lease, ${LEASE_MS / 4_000} s by default).`,
    '',
    'On FerretDB v1 each call filtering on the tenant field scans the whole shared collection (it uses no index but',
    "`_id`'s), so a batch costs in proportion to the collection's size; on MongoDB both calls of a batch use the tenant",
    'index `{ tenantId: 1, _id: 1 }`. See [compatibility.md](compatibility.md).',
    '',
    table(
      ['documents', 'drop (s)', 'documents/s', 'batches', 'median batch (s)', 'slowest batch (s)'],
      [[d.documents.toLocaleString('en'), d.seconds, `**${d.perSecond}**`, d.batches, d.medianBatch, d.slowestBatch]],
    ),
    '',
    `The other tenant's ${d.others.toLocaleString('en')} documents ${d.otherIntact ? 'were all still there afterwards' : '**were not all there afterwards**'}.`,
  ].join('\n');
}
