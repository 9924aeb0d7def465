/**
 * The scoped members of a tenant-scoped collection: each copies its options
 * by the method's allow-list, takes canonical copies of its arguments,
 * scopes and checks them, and calls the raw collection's own method with
 * exactly those copies. Cursors and change streams come back guarded.
 */
import type { Collection, Document } from 'mongodb';
import { canonical, canonicalDocument } from './scoped-canonical.js';
import { guardAggregationCursor, guardChangeStream, guardFindCursor, guardListingCursor } from './scoped-cursors.js';
import { copyOptions } from './scoped-options.js';
import { scopeChangeStream, scopePipeline } from './scoped-pipeline.js';
import { byIdAlone, refuse, type Scope, scopeFilter } from './scoped-rules.js';
import {
  scopeBulkOperation,
  scopeDocument,
  scopeGivenFilter,
  scopeGivenUpdate,
  scopeIndexes,
  scopeIndexKey,
} from './scoped-writes.js';

type Raw = Collection<Document>;
type Member = (...args: never[]) => unknown;
type Factory = (raw: Raw, scope: Scope) => Member;
/** A raw method, called with the arguments the handle built (loosely typed: they were checked). */
type Call = (...args: unknown[]) => Promise<unknown>;

/** Gives the caller's document the `_id` the driver gave its copy, as the driver does to the documents it is given. */
function adoptId(original: unknown, copy: Document): void {
  if ((original as Document)._id == null && copy._id != null) Reflect.set(original as Document, '_id', copy._id);
}

/** The raw collection's async method `name`, given what `build` makes of the caller's arguments (a refusal rejects). */
function rewritten(name: string, build: (scope: Scope, args: unknown[]) => unknown[]): Factory {
  return (raw, scope) => {
    const method = Reflect.get(raw, name) as Call;
    return async (...args: unknown[]) => await method.apply(raw, build(scope, args));
  };
}

/** `(filter, options)` methods. */
const filtered = (name: string, list: string) =>
  rewritten(name, (scope, [filter, options]) => {
    const { options: o, wire } = copyOptions(scope, list, options);
    return [scopeGivenFilter(scope, filter, wire), o];
  });

const updating = (name: string, list: string) =>
  rewritten(name, (scope, [filter, update, options]) => {
    const { options: o, wire } = copyOptions(scope, list, options);
    return [scopeGivenFilter(scope, filter, wire), scopeGivenUpdate(scope, update, o?.upsert, wire), o];
  });

const replacing = (name: string, list: string) =>
  rewritten(name, (scope, [filter, replacement, options]) => {
    const { options: o, wire } = copyOptions(scope, list, options);
    return [scopeGivenFilter(scope, filter, wire), scopeDocument(scope, replacement, wire), o];
  });

/** Index and collection metadata: no tenant documents; only the options are copied (`dbName` would read elsewhere). */
const metadata = (name: string, leading = 0) =>
  rewritten(name, (scope, args) => [...args.slice(0, leading), copyOptions(scope, 'metadata', args[leading]).options]);

/** The scoped members, each made once per handle on first use; they call the raw collection's own methods. */
export const SCOPED: Readonly<Record<string, Factory>> = {
  findOne: (raw, scope) => async (filter?: unknown, options?: unknown) => {
    const { options: o, wire } = copyOptions(scope, 'find', options);
    const copy = filter === undefined || filter === null ? undefined : canonicalDocument(filter, wire, 'a filter');
    if (!byIdAlone(copy, o)) return await raw.findOne(scopeFilter(scope, copy), o);
    const found = await raw.findOne(copy as Document, o);
    return found?.[scope.field] === scope.value ? found : null;
  },
  countDocuments: filtered('countDocuments', 'countDocuments'),
  deleteOne: filtered('deleteOne', 'delete'),
  deleteMany: filtered('deleteMany', 'delete'),
  findOneAndDelete: filtered('findOneAndDelete', 'findOneAndDelete'),
  distinct: rewritten('distinct', (scope, [key, filter, options]) => {
    if (typeof key !== 'string') refuse('distinct takes a field name');
    const { options: o, wire } = copyOptions(scope, 'distinct', options);
    return [key, scopeGivenFilter(scope, filter, wire), o];
  }),
  updateOne: updating('updateOne', 'update'),
  updateMany: updating('updateMany', 'update'),
  findOneAndUpdate: updating('findOneAndUpdate', 'findOneAndUpdate'),
  replaceOne: replacing('replaceOne', 'replace'),
  findOneAndReplace: replacing('findOneAndReplace', 'findOneAndReplace'),
  createIndex: rewritten('createIndex', (scope, [spec, indexOptions, commandOptions]) => {
    if (commandOptions === undefined || commandOptions === null) {
      const { options, wire } = copyOptions(scope, 'createIndex', indexOptions);
      return [scopeIndexKey(scope, spec, wire), options];
    }
    const index = copyOptions(scope, 'indexOptions', indexOptions).options;
    const { options, wire } = copyOptions(scope, 'indexCommand', commandOptions);
    return [scopeIndexKey(scope, spec, wire), index, options];
  }),
  createIndexes: rewritten('createIndexes', (scope, [specs, options]) => [
    scopeIndexes(scope, specs),
    copyOptions(scope, 'indexCommand', options).options,
  ]),
  insertOne: (raw, scope) => async (doc: unknown, options?: unknown) => {
    const { options: o, wire } = copyOptions(scope, 'insertOne', options);
    const copy = scopeDocument(scope, doc, wire);
    const pending = raw.insertOne(copy, o);
    adoptId(doc, copy); // at once, as the driver does: it sets the copy's _id before its first await
    try {
      return await pending;
    } finally {
      adoptId(doc, copy); // and after, should a driver set it later
    }
  },
  insertMany: (raw, scope) => async (docs: unknown, options?: unknown) => {
    if (!Array.isArray(docs)) refuse('insertMany takes an array of documents');
    const { options: o, wire } = copyOptions(scope, 'insertMany', options);
    const originals: unknown[] = Array.from(docs);
    const copies = originals.map((doc) => scopeDocument(scope, doc, wire));
    try {
      return await raw.insertMany(copies, o);
    } finally {
      for (const [i, doc] of originals.entries()) adoptId(doc, copies[i] as Document);
    }
  },
  bulkWrite: (raw, scope) => async (operations: unknown, options?: unknown) => {
    if (!Array.isArray(operations)) refuse('bulkWrite takes an array of operations');
    const { options: o, wire } = copyOptions(scope, 'bulkWrite', options);
    const inserted: Array<[unknown, Document]> = [];
    const scoped = Array.from(operations, (operation: unknown) => scopeBulkOperation(scope, operation, wire, inserted));
    try {
      return await raw.bulkWrite(scoped as never, o);
    } finally {
      for (const [original, copy] of inserted) adoptId(original, copy);
    }
  },
  find: (raw, scope) => (filter?: unknown, options?: unknown) => {
    const { options: o, wire } = copyOptions(scope, 'find', options);
    return guardFindCursor(scope, raw.find(scopeGivenFilter(scope, filter, wire), o));
  },
  aggregate: (raw, scope) => (pipeline?: unknown, options?: unknown) => {
    const { options: o, wire } = copyOptions(scope, 'aggregate', options);
    const stages = canonical(pipeline ?? [], wire, 'a pipeline');
    return guardAggregationCursor(scope, raw.aggregate(scopePipeline(scope, stages), o));
  },
  watch: (raw, scope) => (pipeline?: unknown, options?: unknown) => {
    // As the driver: the pipeline may be left out, options first.
    const [stages, given] = Array.isArray(pipeline) || pipeline === undefined ? [pipeline, options] : [[], pipeline];
    const { options: o, wire } = copyOptions(scope, 'watch', given);
    const scoped = scopeChangeStream(scope, canonical(stages ?? [], wire, 'a change-stream pipeline'));
    return guardChangeStream(raw.watch(scoped, o ?? {}));
  },
  listIndexes: (raw, scope) => (options?: unknown) =>
    guardListingCursor(raw.listIndexes(copyOptions(scope, 'metadata', options).options)),
  listSearchIndexes: (raw, scope) => (name?: unknown, options?: unknown) => {
    if (typeof name === 'string') {
      return guardListingCursor(raw.listSearchIndexes(name, copyOptions(scope, 'metadata', options).options));
    }
    return guardListingCursor(raw.listSearchIndexes(copyOptions(scope, 'metadata', name).options));
  },
  indexes: metadata('indexes'),
  indexInformation: metadata('indexInformation'),
  indexExists: metadata('indexExists', 1),
  isCapped: metadata('isCapped'),
  options: metadata('options'),
};
