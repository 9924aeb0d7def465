/**
 * The tenant-scoped handle of a shared collection: two tenants' documents in one physical collection, and every
 * member of the driver's Collection tried through one tenant's handle against the real server. What the handle sends
 * is checked on a spy of the raw collection (a Proxy that records the calls and runs them), and what the server does
 * with it where the server runs it. FerretDB v1 answers some stages and operators with 238 (NotImplemented) or 14
 * (TypeMismatch); there, and only there, those checks expect exactly that answer (see serverRuns).
 */
import type { Readable } from 'node:stream';
import {
  AggregationCursor,
  BSONRegExp,
  type ChangeStream,
  Collection,
  type Db,
  type Document,
  FindCursor,
  MongoClient,
} from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  COLLECTION_METHODS,
  type ScopeRule,
  scopedCollection,
} from '../../src/tenants/strategies/scoped-collection.js';
import { serverKind, useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();

const A = '65f0a0a0a0a0a0a0a0a0a0a0';
const B = '65f0b0b0b0b0b0b0b0b0b0b0';
const UNSCOPED = { code: 'UNSCOPED_OPERATION' };
const NOT_IMPLEMENTED = 238; // FerretDB v1: a stage or operator it does not have
const TYPE_MISMATCH = 14; // FerretDB v1: an update given as a pipeline

const physical = (name: string) => (/^[a-z]+$/.test(name) ? `shared__${name}` : null);
const rule = (value: string): ScopeRule => ({ field: 'tenantId', value, physical });

interface Order extends Document {
  _id?: string;
  tenantId?: string;
  n?: number;
  code?: string;
}

interface Call {
  name: string;
  args: unknown[];
  /** What the raw method returned (a driver cursor or change stream, a promise). */
  result?: unknown;
}

/** The collection, with every method call recorded and then run as it is. */
function spy<T extends Document>(collection: Collection<T>): { collection: Collection<T>; calls: Call[] } {
  const calls: Call[] = [];
  const proxy = new Proxy(collection, {
    get(target, name) {
      const member = Reflect.get(target, name, target);
      if (typeof member !== 'function' || typeof name !== 'string' || name === 'constructor') return member;
      return (...args: unknown[]) => {
        const call: Call = { name, args };
        calls.push(call);
        call.result = Reflect.apply(member, target, args);
        return call.result;
      };
    },
  });
  return { collection: proxy, calls };
}

function lastCall(calls: Call[], name: string): unknown[] {
  const found = calls.filter((c) => c.name === name).at(-1);
  if (!found) throw new Error(`${name} was not called`);
  return found.args;
}

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/**
 * Runs what the handle sent and checks the server's answer with `check`. FerretDB v1 does not implement some
 * stages and operators (docs/compatibility.md): there, and only there, the answer must be one of those documented
 * codes instead (the command the handle sent was checked before). Any other server must run it.
 */
async function serverRuns<T>(
  call: () => Promise<T>,
  check: (value: T) => unknown,
  codes: readonly number[] = [NOT_IMPLEMENTED],
): Promise<void> {
  const outcome = await call().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ('value' in outcome) {
    await check(outcome.value);
    return;
  }
  const code = (outcome.error as { code?: unknown }).code;
  if (serverKind() !== 'ferretdb' || typeof code !== 'number' || !codes.includes(code)) throw outcome.error;
  expect(codes).toContain(code);
}

const seedA: Order[] = [
  { _id: 'a1', tenantId: A, n: 1, code: 'c1' },
  { _id: 'a2', tenantId: A, n: 2, code: 'c2' },
];
const seedB: Order[] = [
  { _id: 'b1', tenantId: B, n: 1, code: 'c1' },
  { _id: 'b2', tenantId: B, n: 2, code: 'c2' },
];

let db: Db;
let raw: Collection<Order>;
let calls: Call[];
let orders: Collection<Order>;

beforeEach(async () => {
  db = client.db(dbName('shared'));
  raw = db.collection<Order>('shared__orders');
  await raw.insertMany([...seedA, ...seedB].map((d) => ({ ...d })));
  const spied = spy(raw);
  calls = spied.calls;
  orders = scopedCollection(spied.collection, rule(A));
});

/** An expression as the handle sends it in a filter: evaluated only once the document is known to be A's. */
const MINE = { $eq: ['$$ROOT.tenantId', { $literal: A }] };
const fenced = (expression: unknown) => ({ $and: [MINE, expression] });
/** In a $match stage: A's documents, or documents without the field (reshaped by an earlier stage). */
const fencedInStage = (expression: unknown) => ({
  $and: [{ $or: [MINE, { $eq: [{ $type: '$$ROOT.tenantId' }, 'missing'] }] }, expression],
});

const bDocuments = () => raw.find({ tenantId: B }).sort({ _id: 1 }).toArray();
const everything = () => raw.find({}).sort({ _id: 1 }).toArray();

/** Every document is A's or B's untouched seed: nothing of B changed, nothing went without the field. */
async function expectBUntouched(): Promise<void> {
  expect(await bDocuments()).toEqual(seedB);
  expect(await raw.countDocuments({ tenantId: { $nin: [A, B] } })).toBe(0);
}

const ADVERSARIAL: Array<[string, Document]> = [
  ['nothing', {}],
  ['the other tenant', { tenantId: B }],
  ['$or with an empty branch', { $or: [{ tenantId: B }, {}] }],
  ['$or on everything', { $or: [{ tenantId: { $ne: A } }, { n: { $gte: 0 } }] }],
  ['the other tenant by _id', { _id: 'b1' }],
  ['$in both tenants', { tenantId: { $in: [A, B] } }],
  ['$nor of this tenant', { $nor: [{ tenantId: A }] }],
  ['$and of nothing', { $and: [{}], tenantId: { $exists: true } }],
  ['$comment beside $ne', { $comment: 'x', tenantId: { $ne: A } }],
];

describe('reads', () => {
  it.each(ADVERSARIAL)('never return the other tenant: %s', async (_label, filter) => {
    const found = await orders.find(filter).toArray();
    expect(found.every((d) => d.tenantId === A)).toBe(true);
    expect((await orders.findOne(filter))?.tenantId ?? A).toBe(A);
    expect(await orders.countDocuments(filter)).toBe(found.length);
    expect(await orders.distinct('tenantId', filter)).toEqual(found.length ? [A] : []);
    const aggregated = await orders.aggregate([{ $match: filter }]).toArray();
    expect(aggregated.map((d) => d._id).sort()).toEqual(found.map((d) => d._id).sort());
  });

  it('find all is the tenant\u2019s documents; by _id finds only its own', async () => {
    expect(await orders.find().sort({ _id: 1 }).toArray()).toEqual(seedA);
    expect(await orders.findOne({ _id: 'a1' })).toEqual(seedA[0]);
    expect(await orders.findOne({ _id: 'b1' })).toBeNull();
    expect(await orders.findOne({ _id: 'a1', tenantId: A })).toEqual(seedA[0]);
    expect(lastCall(calls, 'findOne')[0]).toEqual({ _id: 'a1', tenantId: A }); // already the tenant's: sent as is
  });

  it('findOne by _id alone asks the server by _id and checks the tenant on the document it gets', async () => {
    expect(await orders.findOne({ _id: 'b1' })).toBeNull();
    expect(lastCall(calls, 'findOne')[0]).toEqual({ _id: 'b1' });
    expect(await orders.findOne({ _id: 'a2' }, { maxTimeMS: 5_000 })).toEqual(seedA[1]);
    expect(lastCall(calls, 'findOne')[0]).toEqual({ _id: 'a2' });
    // Anything that could match several documents or change the document returned goes with the tenant condition.
    expect(await orders.findOne({ _id: 'b1' }, { projection: { tenantId: 0 } })).toBeNull();
    expect(lastCall(calls, 'findOne')[0]).toEqual({ _id: 'b1', tenantId: A });
    expect(await orders.findOne({ _id: { $in: ['b1', 'b2'] } })).toBeNull();
    expect(await orders.findOne({ _id: { $ne: 'a1' } })).toEqual(seedA[1]);
    expect(await orders.findOne({ _id: /^b/ })).toBeNull();
    // Sent as it serializes: a BSON regular expression with the same pattern and flags.
    expect(lastCall(calls, 'findOne')[0]).toEqual({ _id: new BSONRegExp('^b', ''), tenantId: A });
  });

  it('an $expr filter cannot widen the scope', async () => {
    const filter = { $expr: { $eq: ['$tenantId', B] } };
    expect(lastCallOf(() => orders.find(filter), 'find')).toEqual({ $expr: fenced(filter.$expr), tenantId: A });
    await serverRuns(
      () => orders.find(filter).toArray(),
      (found) => expect(found).toEqual([]),
    );
  });

  it('a filter naming the field goes under $and; a flat one gets the field beside its conditions', () => {
    orders.find({ tenantId: B });
    expect(lastCall(calls, 'find')[0]).toEqual({ $and: [{ tenantId: A }, { tenantId: B }] });
    orders.find({ $or: [{ tenantId: B }, {}] });
    expect(lastCall(calls, 'find')[0]).toEqual({ $or: [{ tenantId: B }, {}], tenantId: A });
  });

  it('a filter is checked and sent as it serializes (toBSON): naming the field, it goes under $and', async () => {
    const sneaky = { n: 1, toBSON: () => ({ tenantId: B }) };
    expect((await orders.find(sneaky).toArray()).map((d) => d._id)).toEqual([]);
    expect(lastCall(calls, 'find')[0]).toEqual({ $and: [{ tenantId: A }, { tenantId: B }] });
  });

  it('cursors chain as the driver\u2019s do; filter(), clone() and addQueryModifier() are refused', async () => {
    expect(await orders.find({}).sort({ n: -1 }).limit(1).toArray()).toEqual([seedA[1]]);
    expect(await orders.find({}).skip(1).project({ n: 1 }).batchSize(10).maxTimeMS(5_000).toArray()).toEqual([
      { _id: 'a2', n: 2 },
    ]);
    expect(await orders.find({}, { projection: { tenantId: 0 } }).toArray()).toEqual(
      seedA.map(({ tenantId: _, ...rest }) => rest),
    );
    expect(
      await orders
        .find()
        .map((d) => d._id)
        .toArray(),
    ).toEqual(['a1', 'a2']);
    const cursor = orders.find();
    expect(thrown(() => cursor.filter({ tenantId: B }))).toMatchObject(UNSCOPED);
    expect(thrown(() => cursor.clone())).toMatchObject(UNSCOPED);
    expect(thrown(() => cursor.addQueryModifier('$query', { _id: 'b2' }))).toMatchObject(UNSCOPED);
    expect(await cursor.toArray()).toEqual(seedA);
  });

  it('a collation that can equate distinct strings is refused', async () => {
    const weak = { locale: 'en', strength: 2 };
    expect(thrown(() => orders.find({}, { collation: weak }))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find({}).collation({ locale: 'en', numericOrdering: true }))).toMatchObject(UNSCOPED);
    await expect(orders.findOne({}, { collation: weak })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.countDocuments({}, { collation: weak })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.deleteMany({}, { collation: weak })).rejects.toMatchObject(UNSCOPED);
    await expect(
      orders.bulkWrite([{ deleteMany: { filter: {}, collation: { locale: 'en', alternate: 'shifted' } } }]),
    ).rejects.toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate([], { collation: weak }))).toMatchObject(UNSCOPED);
    await expectBUntouched();
    expect(await raw.countDocuments({ tenantId: A })).toBe(2);
  });
});

/** The first argument the raw collection got for the call `call` makes. */
function lastCallOf(call: () => unknown, name: string): unknown {
  call();
  return lastCall(calls, name)[0];
}

describe('writes', () => {
  it.each(ADVERSARIAL)('never update, replace or delete the other tenant: %s', async (_label, filter) => {
    const mine = (await orders.find(filter).toArray()).length;
    expect((await orders.updateMany(filter, { $set: { touched: 1 } })).matchedCount).toBe(mine);
    await orders.updateOne(filter, { $inc: { n: 10 } });
    await orders.replaceOne(filter, { n: 99 });
    await orders.findOneAndUpdate(filter, { $set: { again: 1 } });
    await orders.findOneAndReplace(filter, { n: 98 });
    await orders.bulkWrite([
      { updateOne: { filter, update: { $set: { bulk: 1 } } } },
      { updateMany: { filter, update: { $set: { bulk: 2 } } } },
      { replaceOne: { filter, replacement: { n: 97 } } },
    ]);
    await expectBUntouched();
    await orders.findOneAndDelete(filter);
    await orders.deleteOne(filter);
    await orders.bulkWrite([{ deleteOne: { filter } }, { deleteMany: { filter } }]);
    expect((await orders.deleteMany(filter)).deletedCount).toBe(0);
    await expectBUntouched();
    expect(await raw.countDocuments({ tenantId: A })).toBe(2 - mine);
  });

  it('every document written carries the tenant\u2019s value; the caller\u2019s document gets the _id as from the driver', async () => {
    const one: Order = { n: 5 };
    const result = await orders.insertOne(one);
    expect(one._id).toEqual(result.insertedId);
    expect(one.tenantId).toBeUndefined(); // the caller's document is not given the field
    const many: Order[] = [{ n: 6 }, { n: 7, tenantId: A }];
    const inserted = await orders.insertMany(many);
    expect(many.map((d) => d._id)).toEqual([inserted.insertedIds[0], inserted.insertedIds[1]]);
    const bulkDoc: Order = { n: 8 };
    const bulk = await orders.bulkWrite([{ insertOne: { document: bulkDoc } }]);
    expect(bulkDoc._id).toEqual(bulk.insertedIds[0]);
    await orders.replaceOne({ _id: 'a1' }, { n: 11 });
    await orders.findOneAndReplace({ _id: 'a2' }, { n: 12 });
    await orders.updateOne({ n: 5 }, { $set: { tenantId: A, n: 50 } }); // the tenant's own value: allowed
    const written = await raw.find({ tenantId: { $ne: B } }).toArray();
    expect(written).toHaveLength(6);
    expect(written.every((d) => d.tenantId === A)).toBe(true);
    expect((await raw.findOne({ _id: 'a1' }))?.n).toBe(11);
    await expectBUntouched();
  });

  it('a document naming the other tenant is refused and nothing is written', async () => {
    const before = await everything();
    const other = { n: 1, tenantId: B };
    await expect(orders.insertOne(other)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.insertOne({ n: 1, tenantId: null } as never)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.insertMany([{ n: 1 }, other])).rejects.toMatchObject(UNSCOPED);
    await expect(orders.replaceOne({ _id: 'a1' }, other)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.replaceOne({ _id: 'new' }, other, { upsert: true })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.findOneAndReplace({ _id: 'a1' }, other)).rejects.toMatchObject(UNSCOPED);
    await expect(
      orders.bulkWrite([{ insertOne: { document: { n: 1 } } }, { insertOne: { document: other } }]),
    ).rejects.toMatchObject(UNSCOPED);
    await expect(orders.bulkWrite([{ replaceOne: { filter: {}, replacement: other } }])).rejects.toMatchObject(
      UNSCOPED,
    );
    await expect(orders.insertOne(new Map([['n', 1]]) as never)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.insertOne({ n: 1, toBSON: () => other })).rejects.toMatchObject(UNSCOPED);
    expect(await everything()).toEqual(before);
  });

  const CHANGING_UPDATES: Array<[string, Document | Document[]]> = [
    ['$set', { $set: { tenantId: B } }],
    ['$set under the field', { $set: { 'tenantId.x': 1 } }],
    ['$unset', { $unset: { tenantId: '' } }],
    ['$rename from', { $rename: { tenantId: 'owner' } }],
    ['$rename onto', { $rename: { code: 'tenantId' } }],
    ['$setOnInsert', { $setOnInsert: { tenantId: B } }],
    ['$inc', { $inc: { tenantId: 1 } }],
    ['$currentDate', { $currentDate: { tenantId: true } }],
    ['$push', { $push: { tenantId: 1 } }],
    ['an unknown operator', { $setAll: { n: 1 } }],
    ['a replacement given as an update', { n: 1 }],
    ['an empty update', {}],
    ['a pipeline $set', [{ $set: { tenantId: B } }]],
    ['a pipeline $unset', [{ $unset: ['n', 'tenantId'] }]],
    ['a pipeline $project', [{ $project: { tenantId: 0 } }]],
    ['a pipeline stage that is not an update stage', [{ $lookup: { from: 'orders', as: 'x', pipeline: [] } }]],
  ];

  it.each(CHANGING_UPDATES)('an update that changes the field is refused: %s', async (_label, update) => {
    const before = await everything();
    await expect(orders.updateOne({ _id: 'a1' }, update)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.updateMany({}, update)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.updateOne({ _id: 'x' }, update, { upsert: true })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.findOneAndUpdate({ _id: 'a1' }, update)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.bulkWrite([{ updateOne: { filter: {}, update } }])).rejects.toMatchObject(UNSCOPED);
    expect(await everything()).toEqual(before);
  });

  it('an update pipeline ends by setting the tenant\u2019s value, whatever its stages did', async () => {
    const pipeline = [{ $replaceWith: { n: 100 } }];
    const update = orders.updateOne({ _id: 'a1' }, pipeline);
    expect(lastCall(calls, 'updateOne')[1]).toEqual([...pipeline, { $set: { tenantId: { $literal: A } } }]);
    await serverRuns(
      () => update,
      async () => expect(await raw.findOne({ _id: 'a1' })).toEqual({ _id: 'a1', n: 100, tenantId: A }),
      [TYPE_MISMATCH, NOT_IMPLEMENTED],
    );
    await expectBUntouched();
  });

  it('bulkWrite refuses an unknown or ambiguous operation, and runs nothing', async () => {
    const before = await everything();
    const refusedOperations: unknown[] = [
      [{ insertOne: { document: { n: 1 } } }, { upsertOne: { filter: {} } }],
      [{ deleteMany: { filter: { _id: 'a1' } }, insertOne: { document: {} } }],
      [{}],
      'not an array',
    ];
    for (const operations of refusedOperations) {
      await expect(orders.bulkWrite(operations as never)).rejects.toMatchObject(UNSCOPED);
    }
    expect(await everything()).toEqual(before);
  });
});

describe('upserts', () => {
  it('every upsert path creates a document carrying the tenant\u2019s value', async () => {
    await orders.updateOne({ code: 'u1' }, { $set: { n: 1 } }, { upsert: true });
    await orders.updateMany({ code: 'u2' }, { $set: { n: 2 } }, { upsert: true });
    await orders.updateOne({ tenantId: A, code: 'u3' }, { $inc: { n: 3 } }, { upsert: true });
    await orders.updateOne({ code: 'u4' }, { $set: { tenantId: A }, $setOnInsert: { n: 4 } }, { upsert: true });
    await orders.updateOne({ $and: [{ code: 'u5' }] }, { $setOnInsert: { n: 5 } }, { upsert: true });
    await orders.replaceOne({ code: 'u6' }, { code: 'u6', n: 6 }, { upsert: true });
    await orders.findOneAndUpdate({ code: 'u7' }, { $set: { n: 7 } }, { upsert: true });
    await orders.findOneAndReplace({ code: 'u8' }, { code: 'u8', n: 8 }, { upsert: true });
    await orders.bulkWrite([
      { updateOne: { filter: { code: 'u9' }, update: { $set: { n: 9 } }, upsert: true } },
      { updateMany: { filter: { code: 'u10' }, update: { $set: { n: 10 } }, upsert: true } },
      { replaceOne: { filter: { code: 'u11' }, replacement: { code: 'u11', n: 11 }, upsert: true } },
    ]);
    const upserted = await raw.find({ n: { $gte: 1, $lte: 11 }, _id: { $nin: ['a1', 'a2', 'b1', 'b2'] } }).toArray();
    expect(upserted.map((d) => d.n).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(upserted.every((d) => d.tenantId === A)).toBe(true);
    expect(upserted.find((d) => d.n === 1)?.code).toBe('u1'); // the filter's equality still reaches the new document
    await expectBUntouched();
  });

  it('an upsert adds $setOnInsert, merged with the caller\u2019s, unless the update sets the field itself', async () => {
    await orders.updateOne({ code: 'x' }, { $set: { n: 1 }, $setOnInsert: { m: 1 } }, { upsert: true });
    expect(lastCall(calls, 'updateOne')[1]).toEqual({ $set: { n: 1 }, $setOnInsert: { m: 1, tenantId: A } });
    await orders.updateOne({ code: 'y' }, { $set: { n: 1, tenantId: A } }, { upsert: true });
    expect(lastCall(calls, 'updateOne')[1]).toEqual({ $set: { n: 1, tenantId: A } });
    await orders.updateOne({ code: 'x' }, { $set: { n: 2 } });
    expect(lastCall(calls, 'updateOne')[1]).toEqual({ $set: { n: 2 } });
    expect(await raw.find({ code: { $in: ['x', 'y'] } }, { projection: { _id: 0 } }).toArray()).toEqual([
      { code: 'x', n: 2, m: 1, tenantId: A },
      { code: 'y', n: 1, tenantId: A },
    ]);
  });

  it('an upsert whose filter names the other tenant never creates a document of that tenant', async () => {
    try {
      await orders.updateOne({ tenantId: B, code: 'z' }, { $set: { n: 1 } }, { upsert: true });
    } catch (error) {
      expect((error as { code?: unknown }).code).toEqual(expect.any(Number)); // MongoDB: the path is matched twice
    }
    await expectBUntouched();
  });
});

describe('aggregate', () => {
  beforeEach(async () => {
    await db.collection<Order>('shared__customers').insertMany([
      { _id: 'ca', tenantId: A, code: 'c1', name: 'A customer', parent: null },
      { _id: 'cb', tenantId: B, code: 'c1', name: 'B customer', parent: null },
      { _id: 'ca2', tenantId: A, code: 'c2', name: 'A child', parent: 'c1' },
      { _id: 'cb2', tenantId: B, code: 'c2', name: 'B child', parent: 'c1' },
    ]);
  });

  it('starts with the tenant\u2019s $match, and B\u2019s documents never appear', async () => {
    const grouped = await orders.aggregate([{ $group: { _id: '$tenantId', count: { $sum: 1 } } }]).toArray();
    expect(grouped).toEqual([{ _id: A, count: 2 }]);
    expect(lastCall(calls, 'aggregate')[0]).toEqual([
      { $match: { tenantId: A } },
      { $group: { _id: '$tenantId', count: { $sum: 1 } } },
    ]);
    expect(await orders.aggregate().toArray()).toHaveLength(2);
    expect(await orders.aggregate([{ $match: { tenantId: B } }]).toArray()).toEqual([]);
    expect(await orders.aggregate([]).match({}).sort({ n: -1 }).limit(1).toArray()).toEqual([seedA[1]]);
  });

  it('$lookup is pointed at the physical collection and joins only the tenant\u2019s documents', async () => {
    const stage = { $lookup: { from: 'customers', localField: 'code', foreignField: 'code', as: 'customer' } };
    const cursor = orders.aggregate<Order & { customer: Document[] }>([{ $match: { _id: 'a1' } }, stage]);
    expect(lastCall(calls, 'aggregate')[0]).toEqual([
      { $match: { tenantId: A } },
      { $match: { _id: 'a1' } },
      {
        $lookup: {
          from: 'shared__customers',
          localField: 'code',
          foreignField: 'code',
          as: 'customer',
          pipeline: [{ $match: { tenantId: A } }],
        },
      },
    ]);
    await serverRuns(
      () => cursor.toArray(),
      ([joined]) => expect(joined?.customer.map((c) => c.name)).toEqual(['A customer']),
    );
  });

  it('a $lookup pipeline is scoped and checked inside', async () => {
    const stage = {
      $lookup: { from: 'customers', let: { c: '$code' }, pipeline: [{ $match: { tenantId: B } }], as: 'x' },
    };
    const cursor = orders.aggregate([stage]);
    expect((lastCall(calls, 'aggregate')[0] as Document[])[1]).toEqual({
      $lookup: {
        from: 'shared__customers',
        let: { c: '$code' },
        pipeline: [{ $match: { tenantId: A } }, { $match: { tenantId: B } }],
        as: 'x',
      },
    });
    await serverRuns(
      () => cursor.toArray(),
      (found) => expect(found.map((d) => d.x)).toEqual([[], []]),
    );
  });

  it('$unionWith is pointed at the physical collection and brings only the tenant\u2019s documents', async () => {
    const cursor = orders.aggregate([{ $project: { _id: 1 } }, { $unionWith: 'customers' }, { $project: { _id: 1 } }]);
    expect((lastCall(calls, 'aggregate')[0] as Document[])[2]).toEqual({
      $unionWith: { coll: 'shared__customers', pipeline: [{ $match: { tenantId: A } }] },
    });
    orders.aggregate([{ $unionWith: { coll: 'customers', pipeline: [{ $sort: { code: 1 } }] } }]);
    expect((lastCall(calls, 'aggregate')[0] as Document[])[1]).toEqual({
      $unionWith: { coll: 'shared__customers', pipeline: [{ $match: { tenantId: A } }, { $sort: { code: 1 } }] },
    });
    await serverRuns(
      () => cursor.toArray(),
      (found) => expect(found.map((d) => d._id).sort()).toEqual(['a1', 'a2', 'ca', 'ca2']),
    );
  });

  it('$graphLookup is pointed at the physical collection and searches only the tenant\u2019s documents', async () => {
    const stage = {
      $graphLookup: {
        from: 'customers',
        startWith: '$code',
        connectFromField: 'code',
        connectToField: 'parent',
        as: 'children',
        restrictSearchWithMatch: { $or: [{ tenantId: B }, { name: { $exists: true } }] },
      },
    };
    const cursor = orders.aggregate<Order & { children: Document[] }>([{ $match: { _id: 'a1' } }, stage]);
    expect((lastCall(calls, 'aggregate')[0] as Document[])[2]).toEqual({
      $graphLookup: {
        ...stage.$graphLookup,
        from: 'shared__customers',
        restrictSearchWithMatch: { $or: [{ tenantId: B }, { name: { $exists: true } }], tenantId: A },
      },
    });
    await serverRuns(
      () => cursor.toArray(),
      ([found]) => expect(found?.children.map((c) => c.name)).toEqual(['A child']),
    );
  });

  it('$facet sub-pipelines are checked, and see only the tenant\u2019s documents', async () => {
    orders.aggregate([{ $facet: { all: [{ $count: 'n' }], joined: [{ $unionWith: 'customers' }] } }]);
    expect((lastCall(calls, 'aggregate')[0] as Document[])[1]).toEqual({
      $facet: {
        all: [{ $count: 'n' }],
        joined: [{ $unionWith: { coll: 'shared__customers', pipeline: [{ $match: { tenantId: A } }] } }],
      },
    });
    expect(thrown(() => orders.aggregate([{ $facet: { out: [{ $out: 'x' }] } }]))).toMatchObject(UNSCOPED);
    await serverRuns(
      () => orders.aggregate([{ $facet: { all: [{ $count: 'n' }] } }]).toArray(),
      (found) => expect(found).toEqual([{ all: [{ n: 2 }] }]),
    );
  });

  const REFUSED_STAGES: Array<[string, Document]> = [
    ['$out', { $out: 'stolen' }],
    ['$merge', { $merge: { into: 'stolen' } }],
    ['$collStats', { $collStats: { count: {} } }],
    ['$indexStats', { $indexStats: {} }],
    ['$currentOp', { $currentOp: {} }],
    ['$listSessions', { $listSessions: {} }],
    ['$planCacheStats', { $planCacheStats: {} }],
    ['$documents', { $documents: [{ tenantId: B }] }],
    ['$changeStream', { $changeStream: {} }],
    ['$search', { $search: { text: { query: 'x', path: 'n' } } }],
    ['$searchMeta', { $searchMeta: {} }],
    ['$vectorSearch', { $vectorSearch: {} }],
    ['$geoNear', { $geoNear: { near: [0, 0], distanceField: 'd' } }],
    ['an unknown stage', { $listSearchIndexes: {} }],
    ['a stage naming two operators', { $match: {}, $out: 'x' }],
    ['$lookup from a name that is not a tenant collection', { $lookup: { from: 'Other DB', as: 'x', pipeline: [] } }],
    ['$lookup without from', { $lookup: { as: 'x', pipeline: [{ $documents: [{}] }] } }],
    ['$lookup from another database', { $lookup: { from: { db: 'x', coll: 'y' }, as: 'x', pipeline: [] } }],
    ['$lookup with a refused stage inside', { $lookup: { from: 'customers', as: 'x', pipeline: [{ $out: 'y' }] } }],
    ['$unionWith a name that is not a tenant collection', { $unionWith: '../other' }],
    ['$graphLookup from a name that is not a tenant collection', { $graphLookup: { from: 'x.y', as: 'g' } }],
  ];

  it.each(REFUSED_STAGES)('refuses %s', async (_label, stage) => {
    const before = await everything();
    expect(thrown(() => orders.aggregate([stage]))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate([]).addStage(stage))).toMatchObject(UNSCOPED);
    expect(await everything()).toEqual(before);
  });

  it('the cursor\u2019s builders are checked: out() and clone() refused, lookup() rewritten', () => {
    expect(thrown(() => orders.aggregate().out('stolen'))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate().clone())).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate().geoNear({ near: [0, 0] }))).toMatchObject(UNSCOPED);
    orders.aggregate().lookup({ from: 'customers', localField: 'code', foreignField: 'code', as: 'c' });
    // The driver's cursor adds its stages to the pipeline it was given.
    expect((lastCall(calls, 'aggregate')[0] as Document[]).at(-1)).toMatchObject({
      $lookup: { from: 'shared__customers', pipeline: [{ $match: { tenantId: A } }] },
    });
  });
});

describe('indexes', () => {
  // A collection of its own: the seed documents lack `email`, which a unique index on MongoDB counts as a duplicate.
  let people: Collection<Document>;
  let rawPeople: Collection<Document>;
  beforeEach(() => {
    rawPeople = db.collection('shared__people');
    people = scopedCollection(rawPeople, rule(A));
  });
  const keyOf = async (name: string) => {
    const index = (await rawPeople.indexes()).find((i) => i.name === name);
    return index && Object.entries(index.key);
  };

  it('createIndex puts the tenant field first, in every key form of the driver', async () => {
    expect(await people.createIndex({ email: 1 }, { unique: true })).toBe('tenantId_1_email_1');
    expect(await keyOf('tenantId_1_email_1')).toEqual([
      ['tenantId', 1],
      ['email', 1],
    ]);
    await people.createIndex('sku');
    expect(await keyOf('tenantId_1_sku_1')).toEqual([
      ['tenantId', 1],
      ['sku', 1],
    ]);
    await people.createIndex(['n', -1]);
    expect(await keyOf('tenantId_1_n_-1')).toBeDefined();
    await people.createIndex([
      ['a', 1],
      ['b', -1],
    ]);
    expect(await keyOf('tenantId_1_a_1_b_-1')).toBeDefined();
    await people.createIndex(new Map([['c', 1]]));
    expect(await keyOf('tenantId_1_c_1')).toBeDefined();
    await people.createIndex({ tenantId: 1, code: 1 }); // already first: as it is
    expect(await keyOf('tenantId_1_code_1')).toBeDefined();
    expect(await people.createIndexes([{ key: { d: 1 }, name: 'd_per_tenant' }])).toEqual(['d_per_tenant']);
    expect(await keyOf('d_per_tenant')).toEqual([
      ['tenantId', 1],
      ['d', 1],
    ]);
    expect(await people.indexExists('tenantId_1_email_1')).toBe(true);
  });

  it('a unique index is unique per tenant', async () => {
    await people.createIndex({ email: 1 }, { unique: true });
    const other = scopedCollection(rawPeople, rule(B));
    await people.insertOne({ email: 'same@x.test' });
    await other.insertOne({ email: 'same@x.test' });
    await expect(people.insertOne({ email: 'same@x.test' })).rejects.toMatchObject({ code: 11000 });
  });

  it('refuses a key naming the field later, an empty key, and odd forms; creates nothing', async () => {
    const before = await rawPeople.indexes().catch(() => []);
    const refusedKeys: unknown[] = [{ email: 1, tenantId: 1 }, { 'tenantId.x': 1 }, {}, [42], null, [['x', 1], 7]];
    for (const key of refusedKeys) {
      await expect(people.createIndex(key as never)).rejects.toMatchObject(UNSCOPED);
    }
    await expect(people.createIndexes([{ key: { x: 1 } }, { key: { y: 1, tenantId: 1 } }])).rejects.toMatchObject(
      UNSCOPED,
    );
    await expect(people.createIndexes({ key: { x: 1 } } as never)).rejects.toMatchObject(UNSCOPED);
    expect(await rawPeople.indexes().catch(() => [])).toEqual(before);
  });

  it('refuses a partialFilterExpression or wildcardProjection naming the tenant field, and weak collations', async () => {
    const before = await rawPeople.indexes().catch(() => []);
    const partial = { partialFilterExpression: { tenantId: B } };
    await expect(people.createIndex({ email: 1 }, { unique: true, ...partial })).rejects.toMatchObject(UNSCOPED);
    await expect(people.createIndex({ email: 1 }, partial, { maxTimeMS: 5_000 })).rejects.toMatchObject(UNSCOPED);
    await expect(
      people.createIndexes([{ key: { email: 1 }, partialFilterExpression: { $and: [{ 'tenantId.x': { $eq: B } }] } }]),
    ).rejects.toMatchObject(UNSCOPED);
    await expect(people.createIndex({ '$**': 1 }, { wildcardProjection: { tenantId: 0 } })).rejects.toMatchObject(
      UNSCOPED,
    );
    const weak = { collation: { locale: 'en', strength: 2 } };
    await expect(people.createIndex({ email: 1 }, { unique: true, ...weak })).rejects.toMatchObject(UNSCOPED);
    await expect(people.createIndex({ email: 1 }, { storageEngine: {}, dbName: 'x' } as never)).rejects.toMatchObject(
      UNSCOPED,
    );
    expect(await rawPeople.indexes().catch(() => [])).toEqual(before);
  });
});

describe('watch', () => {
  const after = { 'fullDocument.tenantId': A };
  const before = { 'fullDocumentBeforeChange.tenantId': A };
  const SCOPE = {
    $match: {
      $and: [
        { $or: [after, before] },
        { $or: [after, { fullDocument: null }] },
        { $or: [before, { fullDocumentBeforeChange: null }] },
      ],
    },
  };
  const streams: ChangeStream[] = [];
  const opened = (stream: ChangeStream) => {
    streams.push(stream);
    return lastCall(calls, 'watch');
  };

  it('passes the raw watch the tenant scope first, then the caller\u2019s stages', async () => {
    const stage = { $match: { operationType: 'insert' } };
    expect(opened(orders.watch([stage], { fullDocument: 'whenAvailable' }))).toEqual([
      [SCOPE, stage],
      { fullDocument: 'whenAvailable' },
    ]);
    expect(opened(orders.watch())).toEqual([[SCOPE], {}]);
    expect(opened(orders.watch({ fullDocumentBeforeChange: 'whenAvailable' } as never))).toEqual([
      [SCOPE],
      { fullDocumentBeforeChange: 'whenAvailable' },
    ]);
    for (const stream of streams) await stream.close();
    streams.length = 0;
  });

  it('refuses a stage a change stream does not take', () => {
    const watched = calls.length;
    expect(thrown(() => orders.watch([{ $lookup: { from: 'customers', as: 'c', pipeline: [] } }]))).toMatchObject(
      UNSCOPED,
    );
    expect(thrown(() => orders.watch([{ $out: 'x' }]))).toMatchObject(UNSCOPED);
    expect(calls.length).toBe(watched);
  });

  it('refuses fullDocument: updateLookup, which reads the document under the _id now, not the one changed', () => {
    const watched = calls.length;
    expect(thrown(() => orders.watch([], { fullDocument: 'updateLookup' }))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.watch({ fullDocument: 'updateLookup' } as never))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.watch([], { fullDocumentBeforeChange: 'always' as never }))).toMatchObject(UNSCOPED);
    expect(calls.length).toBe(watched);
  });

  it('the scope passes an event only when every document it carries is the tenant\u2019s', async () => {
    const stream = orders.watch([], { fullDocument: 'whenAvailable', fullDocumentBeforeChange: 'whenAvailable' });
    const [sent] = lastCall(calls, 'watch') as [Document[]];
    await stream.close();
    const mine = { tenantId: A };
    const theirs = { tenantId: B };
    // Change events as MongoDB 7 shapes them: fullDocument on inserts and replaces, and on updates with post-images;
    // fullDocumentBeforeChange with pre-images; neither on an update or delete without them, or a drop.
    const events = [
      { _id: 'insert mine', operationType: 'insert', fullDocument: mine, pass: true },
      { _id: 'insert theirs', operationType: 'insert', fullDocument: theirs, pass: false },
      { _id: 'replace mine', operationType: 'replace', fullDocument: mine, pass: true },
      {
        _id: 'update, no images',
        operationType: 'update',
        updateDescription: { updatedFields: { n: 1 } },
        pass: false,
      },
      { _id: 'update, post-image mine', operationType: 'update', fullDocument: mine, pass: true },
      {
        _id: 'update, post-image null, pre mine',
        operationType: 'update',
        fullDocument: null,
        fullDocumentBeforeChange: mine,
        pass: true,
      },
      {
        _id: 'update, post mine, pre theirs',
        operationType: 'update',
        fullDocument: mine,
        fullDocumentBeforeChange: theirs,
        pass: false,
      },
      {
        _id: 'update, post theirs, pre mine',
        operationType: 'update',
        fullDocument: theirs,
        fullDocumentBeforeChange: mine,
        pass: false,
      },
      { _id: 'delete, pre mine', operationType: 'delete', fullDocumentBeforeChange: mine, pass: true },
      { _id: 'delete, pre theirs', operationType: 'delete', fullDocumentBeforeChange: theirs, pass: false },
      { _id: 'delete, no pre-image', operationType: 'delete', documentKey: { _id: 'b1' }, pass: false },
      { _id: 'drop', operationType: 'drop', pass: false },
    ];
    const changes = db.collection<Document>('change_events');
    await changes.insertMany(events as Document[]);
    const passed = await changes.aggregate([sent[0] as Document, { $sort: { _id: 1 } }]).toArray();
    expect(passed.map((e) => e._id)).toEqual(
      events
        .filter((e) => e.pass)
        .map((e) => e._id)
        .sort(),
    );
  });

  it('a change stream is guarded: no parent, listeners called with it as this, stream() without the cursor', async () => {
    const stream = orders.watch();
    const driverStream = calls.filter((c) => c.name === 'watch').at(-1)?.result as ChangeStream;
    expect(thrown(() => (stream as unknown as { parent: unknown }).parent)).toMatchObject(UNSCOPED);
    expect(thrown(() => (stream as unknown as { cursor: unknown }).cursor)).toMatchObject(UNSCOPED);
    expect(thrown(() => stream.emit('change', {} as never))).toMatchObject(UNSCOPED);
    const seen: unknown[] = [];
    const listener = function (this: unknown) {
      seen.push(this);
    };
    expect(stream.on('resumeTokenChanged', listener)).toBe(stream);
    driverStream.emit('resumeTokenChanged', { _data: 'x' });
    expect(seen).toEqual([stream]);
    expect(seen[0]).not.toBe(driverStream);
    stream.off('resumeTokenChanged', listener);
    expect(driverStream.listenerCount('resumeTokenChanged')).toBe(0);
    expect(Object.values(stream.stream()).some((v) => v === driverStream)).toBe(false);
    await stream.close();
    expect(stream.closed).toBe(true);
  });
});

describe('cursors: the driver\u2019s objects are never handed out', () => {
  it('no cursor or change stream gives the client or the raw collection', async () => {
    const cursors: Array<[string, unknown]> = [
      ['find', orders.find()],
      ['aggregate', orders.aggregate([])],
      ['listIndexes', orders.listIndexes()],
      ['listSearchIndexes', orders.listSearchIndexes()],
    ];
    for (const [label, cursor] of cursors) {
      const explainable = label === 'find' || label === 'aggregate';
      for (const member of ['client', 'session', 'namespace', 'clone', ...(explainable ? ['explain'] : [])]) {
        expect(
          thrown(() => (cursor as Record<string, unknown>)[member]),
          `${label}.${member}`,
        ).toMatchObject(UNSCOPED);
      }
      const stream = (cursor as FindCursor).stream();
      expect(Object.values(stream).some((v) => v instanceof FindCursor || v instanceof MongoClient)).toBe(false);
      stream.destroy();
      await (cursor as FindCursor).close();
    }
    const changes = orders.watch();
    expect(thrown(() => (changes as unknown as { parent: unknown }).parent)).toMatchObject(UNSCOPED);
    await changes.close();
  });

  it('the driver\u2019s own methods called on a guarded cursor are refused, and the cursor stays scoped', async () => {
    const cursor = orders.find({});
    const prototype = Object.getPrototypeOf(cursor) as typeof FindCursor.prototype;
    expect(thrown(() => prototype.filter.call(cursor, { tenantId: B }))).toMatchObject(UNSCOPED);
    expect(thrown(() => FindCursor.prototype.filter.call(cursor, {}))).toMatchObject(UNSCOPED);
    expect(thrown(() => FindCursor.prototype.clone.call(cursor))).toMatchObject(UNSCOPED);
    expect(thrown(() => FindCursor.prototype.addQueryModifier.call(cursor, '$query', {}))).toMatchObject(UNSCOPED);
    expect(thrown(() => Object.assign(cursor, { cursorFilter: {} }))).toMatchObject(UNSCOPED);
    expect(thrown(() => Object.defineProperty(cursor, 'cursorFilter', { value: {} }))).toMatchObject(UNSCOPED);
    expect(thrown(() => Reflect.deleteProperty(cursor, 'toArray'))).toMatchObject(UNSCOPED);
    expect(thrown(() => Object.setPrototypeOf(cursor, null))).toMatchObject(UNSCOPED);
    expect(await cursor.toArray()).toEqual(seedA);

    const aggregation = orders.aggregate([]);
    const stage = { $unionWith: 'shared__orders' };
    expect(thrown(() => AggregationCursor.prototype.addStage.call(aggregation, stage))).toMatchObject(UNSCOPED);
    expect(thrown(() => aggregation.pipeline)).toMatchObject(UNSCOPED);
    expect(thrown(() => (aggregation as unknown as { pipeline: Document[] }).pipeline.splice(0, 1))).toMatchObject(
      UNSCOPED,
    );
    expect((await aggregation.toArray()).map((d) => d._id).sort()).toEqual(['a1', 'a2']);

    const searchIndexes = orders.listSearchIndexes();
    expect(thrown(() => searchIndexes.addStage({ $unionWith: 'shared__orders' }))).toMatchObject(UNSCOPED);
    expect(thrown(() => searchIndexes.match({}))).toMatchObject(UNSCOPED);
    await searchIndexes.close();
  });

  it('guarded cursors iterate (for await, stream, map), chain to themselves, and are the driver\u2019s classes', async () => {
    const cursor = orders.find({}).sort({ n: 1 });
    expect(cursor).toBeInstanceOf(FindCursor);
    expect(cursor.limit(5)).toBe(cursor);
    const mapped = cursor.map((d) => d._id);
    expect(mapped).toBe(cursor);
    const ids: unknown[] = [];
    for await (const id of mapped) ids.push(id);
    expect(ids).toEqual(['a1', 'a2']);
    const streamed: Document[] = [];
    for await (const d of orders.find({}).sort({ n: 1 }).stream() as Readable) streamed.push(d as Document);
    expect(streamed).toEqual(seedA);
    const aggregation = orders.aggregate([]);
    expect(aggregation).toBeInstanceOf(AggregationCursor);
    expect(aggregation.match({ n: 2 }).project({ _id: 1 })).toBe(aggregation);
    expect(await aggregation.toArray()).toEqual([{ _id: 'a2' }]);
    const next = orders.find({ _id: 'a1' });
    expect(await next.hasNext()).toBe(true);
    expect(await next.next()).toEqual(seedA[0]);
    expect(await next.tryNext()).toBeNull();
    await next.close();
    expect(next.closed).toBe(true);
    expect(await Promise.resolve(next)).toBe(next); // no `then`
  });
});

/** A plain object the BSON serializer treats as a Map (its Symbol.toStringTag), sending `sent` instead of its keys. */
function mapLike(own: Document, sent: Array<[string, unknown]>): Document {
  return { ...own, [Symbol.toStringTag]: 'Map', entries: () => sent[Symbol.iterator]() };
}
/** The same with the Map-ness on its prototype: its own keys are only `own`. */
function mapLikeProto(own: Document, sent: Array<[string, unknown]>): Document {
  const proto = { [Symbol.toStringTag]: 'Map', entries: () => sent[Symbol.iterator]() };
  return Object.assign(Object.create(proto), own);
}

describe('what is sent is what is checked', () => {
  it('a non-enumerable tenant field equal to the tenant\u2019s value does not drop the tenant condition', async () => {
    const hidden = () => Object.defineProperty({}, 'tenantId', { value: A, enumerable: false }) as Document;
    expect(await orders.find(hidden()).toArray()).toEqual(seedA);
    expect(lastCall(calls, 'find')[0]).toEqual({ tenantId: A });
    expect(await orders.countDocuments(hidden())).toBe(2);
    expect((await orders.deleteMany(hidden())).deletedCount).toBe(2);
    await expectBUntouched();
  });

  it('objects the serializer takes for a Map are checked as they serialize', async () => {
    const before = await everything();
    expect(await orders.find(mapLike({}, [['tenantId', B]])).toArray()).toEqual([]);
    expect(await orders.countDocuments(mapLike({}, []))).toBe(2);
    expect(await orders.findOne(mapLike({ n: 2 }, [['_id', 'b2']]))).toBeNull();
    const planted = mapLike({ n: 1 }, [
      ['_id', 'evil'],
      ['tenantId', B],
    ]);
    await expect(orders.insertOne(planted)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.insertOne(mapLike({ n: 1 }, [['_id', 'bare']]))).rejects.toMatchObject(UNSCOPED);
    await expect(orders.insertMany([mapLikeProto({ n: 1 }, [['_id', 'bare']])])).rejects.toMatchObject(UNSCOPED);
    await expect(orders.bulkWrite([{ insertOne: { document: planted } }])).rejects.toMatchObject(UNSCOPED);
    const update = mapLikeProto({ $set: { y: 1 } }, [['$set', { tenantId: B }]]);
    await expect(orders.updateMany({}, update)).rejects.toMatchObject(UNSCOPED);
    const operand = mapLikeProto({ y: 1 }, [['tenantId', B]]);
    await expect(orders.updateOne({ _id: 'a1' }, { $set: operand })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.bulkWrite([{ updateOne: { filter: {}, update: { $set: operand } } }])).rejects.toMatchObject(
      UNSCOPED,
    );
    await expect(orders.replaceOne({ _id: 'a1' }, mapLike({ z: 1 }, [['z', 'no field']]))).rejects.toMatchObject(
      UNSCOPED,
    );
    for (const [smuggled, spec] of [
      ['$collStats', { count: {} }],
      ['$out', 'victim'],
      ['$unionWith', 'Other DB'],
    ] as const) {
      const stage = mapLikeProto({ $match: {} }, [[smuggled, spec]]);
      expect(
        thrown(() => orders.aggregate([stage])),
        smuggled,
      ).toMatchObject(UNSCOPED);
      expect(
        thrown(() => orders.aggregate([]).addStage(stage)),
        smuggled,
      ).toMatchObject(UNSCOPED);
    }
    orders.aggregate([mapLikeProto({ $match: {} }, [['$unionWith', 'customers']])]);
    expect((lastCall(calls, 'aggregate')[0] as Document[])[1]).toEqual({
      $unionWith: { coll: 'shared__customers', pipeline: [{ $match: { tenantId: A } }] },
    });
    expect(await everything()).toEqual(before);
  });

  it('$rename onto a value whose toBSON names the tenant field is refused', async () => {
    const onto = { toBSON: () => 'tenantId' };
    await expect(orders.updateOne({ _id: 'a1' }, { $rename: { code: onto as never } })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.updateOne({ _id: 'a1' }, { $rename: { code: 42 as never } })).rejects.toMatchObject(UNSCOPED);
    expect(await raw.findOne({ _id: 'a1' })).toEqual(seedA[0]);
  });

  it('getters and proxies are read once: what was checked is what is sent', async () => {
    let reads = 0;
    const flipping = {
      get tenantId() {
        return ++reads === 1 ? A : { $exists: true };
      },
    };
    expect(await orders.find(flipping).toArray()).toEqual(seedA);
    let proxyReads = 0;
    const proxied = new Proxy({ tenantId: A } as Document, {
      get: (target, key) => (key === 'tenantId' && ++proxyReads > 1 ? { $exists: true } : Reflect.get(target, key)),
    });
    expect(await orders.countDocuments(proxied)).toBe(2);
    let toBSONReads = 0;
    const document = {
      n: 9,
      get toBSON() {
        return ++toBSONReads === 1 ? undefined : () => ({ _id: 'evil', tenantId: B });
      },
    };
    // Refused or stored as the tenant's, depending on when the serializer reads toBSON: never stored as B's.
    await orders.insertOne(document).catch((error: unknown) => expect(error).toMatchObject(UNSCOPED));
    let upsertReads = 0;
    const options = {
      get upsert() {
        return ++upsertReads > 1;
      },
    };
    await orders.updateOne({ code: 'nowhere' }, { $set: { q: 1 } }, options);
    expect(upsertReads).toBe(1);
    expect(await raw.findOne({ _id: 'evil' })).toBeNull();
    await expectBUntouched();
  });

  it('a non-enumerable option is read as the driver reads it, so a findOne by _id with a projection is scoped', async () => {
    const options = Object.defineProperty({}, 'projection', { value: { secret: 1 }, enumerable: false });
    expect(await orders.findOne({ _id: 'b1' }, options)).toBeNull();
    expect(lastCall(calls, 'findOne')).toEqual([{ _id: 'b1', tenantId: A }, { projection: { secret: 1 } }]);
  });

  it('the handle sends copies, never the caller\u2019s objects', async () => {
    const filter = { _id: 'a1', tenantId: A };
    const options = { maxTimeMS: 5_000, projection: { n: 1 } };
    await orders.findOne(filter, options);
    const [sentFilter, sentOptions] = lastCall(calls, 'findOne');
    expect(sentFilter).toEqual(filter);
    expect(sentFilter).not.toBe(filter);
    expect(sentOptions).toEqual(options);
    expect(sentOptions).not.toBe(options);
    expect((sentOptions as Document).projection).not.toBe(options.projection);
  });

  it('a value the serializer refuses is refused', async () => {
    const circular: Document = {};
    circular.self = circular;
    await expect(orders.findOne(circular)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.insertOne({ n: 1, id: { _bsontype: 'ObjectId', id: 'x' } })).rejects.toMatchObject(UNSCOPED);
    const throwing = {
      get n(): number {
        throw new Error('boom');
      },
    };
    expect(thrown(() => orders.find(throwing))).toMatchObject(UNSCOPED);
    await expectBUntouched();
  });
});

describe('options: an allow-list per method', () => {
  it('aggregate\u2019s out (and countDocuments\u2019, passed on to aggregate) is refused, and nothing is written', async () => {
    const before = await everything();
    expect(thrown(() => orders.aggregate([{ $project: { tenantId: 0 } }], { out: 'organizations' }))).toMatchObject(
      UNSCOPED,
    );
    await expect(orders.countDocuments({}, { out: 'shared__orders' } as never)).rejects.toMatchObject(UNSCOPED);
    expect(calls.filter((c) => c.name === 'aggregate' || c.name === 'countDocuments')).toEqual([]);
    expect(await everything()).toEqual(before);
    expect(await db.listCollections({ name: 'organizations' }).toArray()).toEqual([]);
  });

  it('explain, min, max, raw, showRecordId and dbName are refused, as option and as cursor method', async () => {
    const before = await everything();
    const other = client.db(dbName('other'));
    expect(thrown(() => orders.find({}, { explain: true } as never))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find().explain)).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate([], { explain: true }))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate([]).explain)).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find({}, { hint: { _id: 1 }, min: { _id: 'a' }, max: { _id: 'z' } }))).toMatchObject(
      UNSCOPED,
    );
    expect(thrown(() => orders.find().min)).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find({}, { raw: true }))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find({}, { showRecordId: true }))).toMatchObject(UNSCOPED);
    await expect(orders.findOne({ _id: 'b1' }, { raw: true })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.countDocuments({}, { explain: true } as never)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.insertOne({ n: 1 }, { dbName: other.databaseName })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.deleteMany({}, { dbName: other.databaseName })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.indexes({ dbName: other.databaseName } as never)).rejects.toMatchObject(UNSCOPED);
    expect(thrown(() => orders.listIndexes({ dbName: other.databaseName } as never))).toMatchObject(UNSCOPED);
    expect(await everything()).toEqual(before);
    expect(await other.listCollections().toArray()).toEqual([]);
  });

  it('options a method takes still reach the driver', async () => {
    await orders.updateOne({ code: 'u' }, { $set: { n: 5 } }, { upsert: true, comment: 'c', maxTimeMS: 5_000 });
    expect(lastCall(calls, 'updateOne')[2]).toEqual({ upsert: true, comment: 'c', maxTimeMS: 5_000 });
    expect(await raw.countDocuments({ code: 'u', tenantId: A })).toBe(1);
    expect(await orders.countDocuments({}, { skip: 1, limit: 5 })).toBe(2);
    const top = await orders.find({}, { sort: new Map([['n', -1]]), limit: 1 }).toArray();
    expect(top.map((d) => d.code)).toEqual(['u']);
    expect(lastCall(calls, 'find')[1]).toEqual({ sort: [['n', -1]], limit: 1 }); // a Map sort keeps its order
  });
});

describe('what a call can tell of other tenants: expressions, hints, callbacks, settings', () => {
  // B holds a document on which dividing by `zero` fails: an expression reaching it would fail A's call.
  const poisoned = { _id: 'bz', tenantId: B, zero: 0 };
  const divides = { $gt: [{ $divide: [1, '$zero'] }, 0] };

  it('an $expr, at the top or under $or, $and or $nor, is evaluated only on the tenant\u2019s documents', async () => {
    await raw.insertOne({ ...poisoned });
    const filter = { $or: [{ n: 1 }, { $expr: divides }], $nor: [{ $expr: divides }] };
    expect(lastCallOf(() => orders.find(filter), 'find')).toEqual({
      $or: [{ n: 1 }, { $expr: fenced(divides) }],
      $nor: [{ $expr: fenced(divides) }],
      tenantId: A,
    });
    await orders.updateMany({ $and: [{ $expr: divides }] }, { $set: { x: 1 } }).catch(() => undefined);
    expect(lastCall(calls, 'updateMany')[0]).toEqual({ $and: [{ $expr: fenced(divides) }], tenantId: A });
    await serverRuns(
      () => orders.find(filter).toArray(),
      (found) => expect(found.map((d) => d._id)).toEqual(['a1']),
    );
    expect(await raw.findOne({ _id: 'bz' })).toEqual(poisoned);
  });

  it('a $match stage, which a server may merge into the tenant\u2019s, has its expressions fenced too', async () => {
    await raw.insertOne({ ...poisoned });
    const pipeline = [{ $match: { $expr: divides } }, { $facet: { all: [{ $match: { $or: [{ $expr: divides }] } }] } }];
    orders.aggregate(pipeline);
    expect(lastCall(calls, 'aggregate')[0]).toEqual([
      { $match: { tenantId: A } },
      { $match: { $expr: fencedInStage(divides) } },
      { $facet: { all: [{ $match: { $or: [{ $expr: fencedInStage(divides) }] } }] } },
    ]);
    await serverRuns(
      () => orders.aggregate([{ $match: { $expr: divides } }]).toArray(),
      (found) => expect(found).toEqual([]),
    );
  });

  it('$where is refused in filters, stages and bulk models; $expr, $where and $function in a change stream\u2019s $match', async () => {
    const where = { $where: 'this.zero === 0' };
    expect(thrown(() => orders.find(where))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find({ $or: [{ n: 1 }, where] }))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate([{ $match: where }]))).toMatchObject(UNSCOPED);
    await expect(orders.countDocuments(where)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.deleteMany(where)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.bulkWrite([{ deleteMany: { filter: where } }])).rejects.toMatchObject(UNSCOPED);
    for (const match of [{ $expr: divides }, where, { $or: [{ $expr: { $function: {} } }] }]) {
      expect(thrown(() => orders.watch([{ $match: match }]))).toMatchObject(UNSCOPED);
    }
    expect(calls).toEqual([]);
    await expectBUntouched();
  });

  it('a hint must be an index key that starts with the tenant field', async () => {
    await raw.createIndex({ tenantId: 1, code: 1 });
    for (const hint of [{ _id: 1 }, { $natural: 1 }, '_id_', 'tenantId_1_code_1', { code: 1, tenantId: 1 }]) {
      expect(thrown(() => orders.find({}, { hint }))).toMatchObject(UNSCOPED);
      expect(thrown(() => orders.find({}).hint(hint))).toMatchObject(UNSCOPED);
      expect(thrown(() => orders.aggregate([], { hint }))).toMatchObject(UNSCOPED);
      await expect(orders.countDocuments({}, { hint })).rejects.toMatchObject(UNSCOPED);
      await expect(orders.updateMany({}, { $set: { x: 1 } }, { hint })).rejects.toMatchObject(UNSCOPED);
      await expect(orders.deleteMany({}, { hint })).rejects.toMatchObject(UNSCOPED);
      await expect(orders.bulkWrite([{ deleteOne: { filter: {}, hint } }])).rejects.toMatchObject(UNSCOPED);
    }
    // Only the cursors whose hint() was then refused reached the raw collection, without a hint.
    expect(calls.map((c) => [c.name, c.args[1]])).toEqual(Array(5).fill(['find', undefined]));
    const key = { tenantId: 1, code: 1 };
    expect(await orders.find({ code: 'c1' }, { hint: key }).toArray()).toEqual([seedA[0]]);
    expect(await orders.find({ code: 'c2' }).hint(key).toArray()).toEqual([seedA[1]]);
    expect(await orders.countDocuments({}, { hint: key })).toBe(2);
    await expectBUntouched();
  });

  it('a let cannot bind CURRENT or ROOT (the fence reads $$ROOT; `$field` reads CURRENT), nor can a $lookup\u2019s', async () => {
    const rebind = { let: { CURRENT: { tenantId: A } } };
    const filter = { $or: [{ $expr: { $gt: [{ $divide: [1, '$$ROOT.zero'] }, 0] } }, { n: -1 }] };
    expect(thrown(() => orders.find(filter, rebind))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate([], { let: { ROOT: 1 } }))).toMatchObject(UNSCOPED);
    await expect(orders.updateMany(filter, { $set: { x: 1 } }, rebind)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.deleteMany(filter, rebind)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.findOneAndDelete(filter, rebind)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.bulkWrite([{ deleteOne: { filter } }], rebind)).rejects.toMatchObject(UNSCOPED);
    const lookup = { from: 'orders', let: { CURRENT: '$$ROOT' }, pipeline: [{ $match: filter }], as: 'j' };
    expect(thrown(() => orders.aggregate([{ $lookup: lookup }]))).toMatchObject(UNSCOPED);
    expect(calls).toEqual([]);
    // Other variables are the caller's to bind, as on the driver.
    orders.find({ $expr: { $eq: ['$code', '$$code'] } }, { let: { code: 'c1' } });
    expect(lastCall(calls, 'find')[1]).toEqual({ let: { code: 'c1' } });
  });

  it('a $natural sort (a read of every tenant\u2019s documents in storage order) is refused wherever a sort goes', async () => {
    const natural = { $natural: 1 } as const;
    expect(thrown(() => orders.find({}, { sort: natural }))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find({}, { sort: [['$natural', -1]] }))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find({}).sort(natural))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.find({}).sort('$natural', 1))).toMatchObject(UNSCOPED);
    expect(thrown(() => orders.aggregate([{ $sort: natural }]))).toMatchObject(UNSCOPED);
    await expect(orders.findOneAndUpdate({}, { $set: { x: 1 } }, { sort: natural })).rejects.toMatchObject(UNSCOPED);
    await expect(orders.updateOne({}, { $set: { x: 1 } }, { sort: natural })).rejects.toMatchObject(UNSCOPED);
    await expect(
      orders.bulkWrite([{ updateOne: { filter: {}, update: { $set: { x: 1 } }, sort: natural } }]),
    ).rejects.toMatchObject(UNSCOPED);
    expect(calls.map((c) => c.name)).toEqual(['find', 'find']); // only the two cursors whose sort() was then refused
    expect(await orders.find({}).sort({ n: -1 }).toArray()).toEqual([seedA[1], seedA[0]]);
    await expectBUntouched();
  });

  it('a $match after a stage that reshapes documents still matches them (they carry no tenant field)', async () => {
    const pipeline = [{ $group: { _id: '$code', c: { $sum: 1 } } }, { $match: { $expr: { $gte: ['$c', 1] } } }];
    orders.aggregate(pipeline);
    expect(lastCall(calls, 'aggregate')[0]).toEqual([
      { $match: { tenantId: A } },
      pipeline[0],
      { $match: { $expr: fencedInStage({ $gte: ['$c', 1] }) } },
    ]);
    await serverRuns(
      () => orders.aggregate(pipeline).toArray(),
      (groups) => expect(groups.map((g) => g._id).sort()).toEqual(['c1', 'c2']),
    );
  });

  it('map and forEach callbacks get `this` undefined, never the driver\u2019s cursor', async () => {
    const seen: unknown[] = [];
    function leak(this: unknown) {
      seen.push(this);
      return this;
    }
    expect(await orders.find({}).map(leak).toArray()).toEqual([undefined, undefined]);
    expect(await orders.aggregate([]).map(leak).toArray()).toEqual([undefined, undefined]);
    expect(await orders.listIndexes().map(leak).toArray()).toEqual([undefined]);
    await orders.find({}).forEach(function (this: unknown) {
      seen.push(this);
    });
    expect(seen).toEqual(Array(7).fill(undefined));
    expect(thrown(() => orders.find({}).map('x' as never))).toMatchObject(UNSCOPED);
  });

  it('settings are frozen copies: changing one cannot change how other tenants read or write', () => {
    const preference = orders.readPreference;
    expect(preference).toEqual(raw.readPreference);
    expect(() => Object.assign(preference as object, { mode: 'secondary' })).toThrow(TypeError);
    const majority = db.collection<Order>('shared__orders', { writeConcern: { w: 'majority' } });
    const concern = scopedCollection(majority, rule(A)).writeConcern;
    expect(concern).toEqual(majority.writeConcern);
    expect(() => Object.assign(concern as object, { w: 0 })).toThrow(TypeError);
    expect(raw.readPreference?.mode).toBe('primary');
    expect(majority.writeConcern?.w).toBe('majority');
  });

  it('bypassDocumentValidation is not an option of a tenant\u2019s writes', async () => {
    const bypass = { bypassDocumentValidation: true };
    await expect(orders.insertOne({ n: 3 }, bypass)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.updateOne({}, { $set: { n: 3 } }, bypass)).rejects.toMatchObject(UNSCOPED);
    await expect(orders.bulkWrite([{ insertOne: { document: { n: 3 } } }], bypass)).rejects.toMatchObject(UNSCOPED);
    expect(calls).toEqual([]);
  });
});

describe('the driver\u2019s Collection, member by member', () => {
  it('lists every member of the installed driver\u2019s Collection.prototype and instances', () => {
    const members = [...Object.getOwnPropertyNames(Collection.prototype), ...Object.getOwnPropertyNames(raw)];
    expect(members.filter((name) => !Object.hasOwn(COLLECTION_METHODS, name))).toEqual([]);
  });

  const REFUSED_ARGUMENTS: Readonly<Record<string, unknown[]>> = {
    rename: ['shared__renamed'],
    dropIndex: ['tenantId_1_code_1'],
    count: [{ tenantId: B }],
    createSearchIndex: [{ name: 's', definition: { mappings: { dynamic: true } } }],
    createSearchIndexes: [[{ name: 's', definition: { mappings: { dynamic: true } } }]],
    dropSearchIndex: ['s'],
    updateSearchIndex: ['s', { mappings: { dynamic: true } }],
  };

  it('every refused member throws UNSCOPED_OPERATION, an async one by rejecting, and nothing changes', async () => {
    await raw.createIndex({ tenantId: 1, code: 1 });
    const before = { documents: await everything(), indexes: await raw.indexes() };
    const refused = Object.entries(COLLECTION_METHODS).filter(([, treatment]) => treatment === 'refused');
    expect(refused.length).toBeGreaterThan(10);
    const handle = orders as unknown as Record<string, unknown>;
    for (const [name] of refused) {
      const member = Reflect.get(Collection.prototype, name);
      if (typeof member !== 'function') {
        expect(
          thrown(() => handle[name]),
          name,
        ).toMatchObject(UNSCOPED);
        continue;
      }
      const call = () => (handle[name] as (...args: unknown[]) => unknown)(...(REFUSED_ARGUMENTS[name] ?? []));
      if (member.constructor.name === 'AsyncFunction') {
        const result = call();
        expect(result, name).toBeInstanceOf(Promise);
        await expect(result, name).rejects.toMatchObject(UNSCOPED);
      } else {
        expect(thrown(call), name).toMatchObject(UNSCOPED);
      }
    }
    expect(await everything()).toEqual(before.documents);
    expect(await raw.indexes()).toEqual(before.indexes);
    expect(await db.listCollections({ name: 'shared__orders' }).toArray()).toHaveLength(1);
    expect(calls).toEqual([]); // not one of them reached the raw collection
  });

  it('fails closed: a member of a newer driver that the table does not list is refused', async () => {
    class FutureCollection<T extends Document> extends Collection<T> {
      async exportEverything(): Promise<T[]> {
        return (await this.find({}).toArray()) as T[];
      }
    }
    const future = Object.setPrototypeOf(db.collection<Order>('shared__orders'), FutureCollection.prototype);
    const handle = scopedCollection(future as FutureCollection<Order>, rule(A)) as FutureCollection<Order>;
    expect(thrown(() => handle.exportEverything)).toMatchObject(UNSCOPED);
    expect(await handle.countDocuments()).toBe(2); // the listed members still work
  });

  it('passes names, settings and metadata through, and is a Collection anyone can await', async () => {
    expect(orders.collectionName).toBe('shared__orders');
    expect(orders.dbName).toBe(raw.dbName);
    expect(orders.namespace).toBe(raw.namespace);
    expect(orders.readPreference).toEqual(raw.readPreference);
    expect(orders.writeConcern).toEqual(raw.writeConcern);
    expect(orders.bsonOptions).toEqual(raw.bsonOptions);
    expect(orders).toBeInstanceOf(Collection);
    expect(orders.constructor).toBe(Collection);
    expect(thrown(() => Object.assign(orders, { hint: { _id: 1 } }))).toMatchObject(UNSCOPED);
    expect(raw.hint).toBeUndefined();
    expect((await orders.indexes()).map((i) => i.name)).toContain('_id_');
    expect(await orders.indexInformation()).toHaveProperty('_id_');
    expect(await orders.listIndexes().toArray()).toHaveLength(1);
    expect(await orders.isCapped()).toBe(false);
    expect(typeof (await orders.options())).toBe('object');
    expect(await Promise.resolve(orders)).toBe(orders); // no `then`: awaiting the handle is the handle
    expect(String(orders)).toBe('[object Object]');
  });

  it('reflection finds nothing of the raw collection, and nothing can be added', () => {
    expect(Object.keys(orders)).toEqual([]);
    expect(Object.getOwnPropertyDescriptor(orders, 'db')).toBeUndefined();
    expect({ ...orders }).toEqual({});
    expect(thrown(() => Object.assign(orders, { find: () => [] }))).toMatchObject(UNSCOPED);
    expect(thrown(() => Object.defineProperty(orders, 'x', { value: 1 }))).toMatchObject(UNSCOPED);
    expect(thrown(() => Object.setPrototypeOf(orders, null))).toMatchObject(UNSCOPED);
    // The driver's own method called on the handle reads its internals through it: refused.
    expect(thrown(() => Collection.prototype.find.call(orders, {}))).toMatchObject(UNSCOPED);
  });

  it('refuses an invalid rule with INVALID_OPTIONS', () => {
    const invalid: unknown[] = [
      { field: '_id', value: A, physical },
      { field: 'tenant.id', value: A, physical },
      { field: '$tenant', value: A, physical },
      { field: '', value: A, physical },
      { field: 'tenantId', value: '', physical },
      { field: 'tenantId', value: '$tenantId', physical },
      { field: 'tenantId', value: 42, physical },
      { field: 'tenantId', value: A },
      null,
    ];
    for (const r of invalid) {
      expect(thrown(() => scopedCollection(raw, r as ScopeRule))).toMatchObject({ code: 'INVALID_OPTIONS' });
    }
  });
});
