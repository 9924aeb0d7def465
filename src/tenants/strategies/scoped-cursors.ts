/**
 * The cursors and change streams of a tenant-scoped collection. The driver's
 * own objects reach the client (`cursor.client`, `changeStream.parent`) and
 * let their filter or pipeline be replaced (`filter`, `clone`, `addStage`,
 * `pipeline`), so the handle never returns one: it returns a `Proxy` that
 * offers an allow-list of members, bound to the driver's object, and refuses
 * every other member, every write and every redefinition. Its target holds
 * nothing: a driver method called with the proxy as `this` reads the
 * driver's internals through the proxy, and is refused.
 */
import { Readable } from 'node:stream';
import type { Document } from 'mongodb';
import { canonical, canonicalDocument, pairsOfMap } from './scoped-canonical.js';
import { checkStage } from './scoped-pipeline.js';
import { checkCollation, checkHint, checkSort, refuse, type Scope, words } from './scoped-rules.js';

/** Members that read what the cursor already holds or fetches, or end it. */
const READING = words('next tryNext hasNext toArray close closed id killed bufferedCount readBufferedDocuments rewind');
/** Find-cursor settings that cannot widen what the cursor matches (`hint` and `sort` are checked, see the find guard). */
const FIND_SETTINGS = words('limit skip project batchSize maxTimeMS maxAwaitTimeMS comment allowDiskUse');
const CURSOR_SETTINGS = words('batchSize maxTimeMS');
const CHANGE_STREAM = words('next tryNext hasNext close closed resumeToken');
const ITERATION: ReadonlySet<string | symbol> = new Set([Symbol.asyncIterator, Symbol.asyncDispose]);
/** `Object.prototype` members, which read nothing of the driver's object. */
const OBJECT_MEMBERS = words('toString toLocaleString valueOf hasOwnProperty isPrototypeOf propertyIsEnumerable');

/** The aggregation cursor's stage builders, each the stage it adds (through the checked `addStage`). */
const BUILDERS: Readonly<Record<string, string>> = {
  match: '$match',
  group: '$group',
  limit: '$limit',
  skip: '$skip',
  sort: '$sort',
  project: '$project',
  unwind: '$unwind',
  redact: '$redact',
  lookup: '$lookup',
};

type Target = object & Record<string | symbol, unknown>;
type Custom = (target: Target, proxy: object) => unknown;

interface Guard {
  /** Members bound to the driver's object; a call returning that object returns the proxy. */
  readonly bound: ReadonlySet<string | symbol>;
  /** Members the guard implements itself. */
  readonly custom: Readonly<Record<string | symbol, Custom>>;
}

/** A readable stream of the proxy's documents (the driver's own stream holds the driver's cursor). */
const stream: Custom = (_target, proxy) => () =>
  Readable.from(proxy as AsyncIterable<unknown>, { objectMode: true, highWaterMark: 1 });

/**
 * A cursor method taking a callback (`map`, `forEach`): the driver calls a
 * `map` transform as its own method, so `this` would be the driver's
 * cursor. The callback is called with `this` undefined instead.
 */
const detached =
  (method: string): Custom =>
  (target, proxy) =>
  (callback: unknown) => {
    if (typeof callback !== 'function') return refuse(`${method} takes a function`);
    const call = (document: unknown) => Reflect.apply(callback, undefined, [document]);
    const result: unknown = (target[method] as (c: unknown) => unknown).call(target, call);
    return result === target ? proxy : result;
  };

/** The members every cursor has: its stream, and the callbacks it calls. */
const CURSOR_CUSTOM: Readonly<Record<string, Custom>> = { stream, map: detached('map'), forEach: detached('forEach') };

const FIND_GUARD = (scope: Scope): Guard => ({
  bound: new Set([...READING, ...FIND_SETTINGS, ...ITERATION]),
  custom: {
    ...CURSOR_CUSTOM,
    sort: (target, proxy) => (sort: unknown, direction?: unknown) => {
      const copy = typeof sort === 'object' && sort !== null ? canonical(pairsOfMap(sort), scope.wire, 'a sort') : sort;
      checkSort(copy);
      (target.sort as (s: unknown, d?: unknown) => unknown).call(target, copy, direction);
      return proxy;
    },
    hint: (target, proxy) => (hint: unknown) => {
      const copy = typeof hint === 'object' && hint !== null ? canonicalDocument(hint, scope.wire, 'a hint') : hint;
      checkHint(scope, copy);
      (target.hint as (h: unknown) => unknown).call(target, copy);
      return proxy;
    },
    collation: (target, proxy) => (collation: unknown) => {
      const copy = canonicalDocument(collation, scope.wire, 'a collation');
      checkCollation(copy);
      (target.collation as (c: Document) => unknown).call(target, copy);
      return proxy;
    },
  },
});

function aggregationGuard(scope: Scope): Guard {
  const addStage: Custom = (target, proxy) => (stage: unknown) => {
    const checked = checkStage(scope, canonicalDocument(stage, scope.wire, 'a pipeline stage'));
    (target.addStage as (s: Document) => unknown).call(target, checked);
    return proxy;
  };
  const custom: Record<string, Custom> = { ...CURSOR_CUSTOM, addStage };
  for (const [builder, name] of Object.entries(BUILDERS)) {
    custom[builder] = (target, proxy) => {
      const add = addStage(target, proxy) as (stage: Document) => unknown;
      return (spec: unknown) => add({ [name]: spec });
    };
  }
  return { bound: new Set([...READING, ...CURSOR_SETTINGS, ...ITERATION]), custom };
}

const LISTING_GUARD: Guard = { bound: new Set([...READING, ...CURSOR_SETTINGS, ...ITERATION]), custom: CURSOR_CUSTOM };

/**
 * A change stream's listeners are called with the proxy as `this` (an
 * emitter calls them with itself, which is the driver's change stream).
 */
function changeStreamGuard(): Guard {
  const wrappers = new WeakMap<object, (...args: unknown[]) => unknown>();
  const wrap = (listener: unknown, proxy: object) => {
    if (typeof listener !== 'function') return refuse('a listener must be a function');
    let wrapper = wrappers.get(listener);
    if (!wrapper) {
      wrapper = (...args: unknown[]) => Reflect.apply(listener, proxy, args);
      wrappers.set(listener, wrapper);
    }
    return wrapper;
  };
  const adding =
    (method: string): Custom =>
    (target, proxy) =>
    (event: unknown, listener: unknown) => {
      (target[method] as (e: unknown, l: unknown) => unknown).call(target, event, wrap(listener, proxy));
      return proxy;
    };
  const removing =
    (method: string): Custom =>
    (target, proxy) =>
    (event: unknown, listener: unknown) => {
      const registered = typeof listener === 'function' ? (wrappers.get(listener) ?? listener) : listener;
      (target[method] as (e: unknown, l: unknown) => unknown).call(target, event, registered);
      return proxy;
    };
  return {
    bound: new Set([...CHANGE_STREAM, ...ITERATION]),
    custom: {
      stream,
      on: adding('on'),
      addListener: adding('addListener'),
      once: adding('once'),
      off: removing('off'),
      removeListener: removing('removeListener'),
      removeAllListeners: (target, proxy) => (event?: unknown) => {
        (target.removeAllListeners as (e?: unknown) => unknown).call(target, event);
        return proxy;
      },
    },
  };
}

/**
 * A proxy offering only `guard`'s members of `target` (the driver's cursor
 * or change stream); every other member the driver's object has is refused,
 * and names it does not have read as `undefined` (so `await` sees no `then`).
 */
function guarded<T extends object>(raw: T, guard: Guard): T {
  const target = raw as Target;
  const members = new Map<string | symbol, unknown>();
  const handler: ProxyHandler<object> = {
    get(_shell, name) {
      const known = members.get(name);
      if (known !== undefined) return known;
      let member: unknown;
      const custom = Object.hasOwn(guard.custom, name) ? guard.custom[name] : undefined;
      if (custom) member = custom(target, proxy);
      else if (guard.bound.has(name)) {
        const value = Reflect.get(target, name, target);
        if (typeof value !== 'function') return value; // a getter (closed, id, resumeToken ...): read each time
        member = (...args: unknown[]) => {
          const result: unknown = Reflect.apply(value, target, args);
          return result === target ? proxy : result;
        };
      } else if (typeof name === 'string' && OBJECT_MEMBERS.has(name)) {
        return Reflect.get(Object.prototype, name);
      } else if (name === 'constructor') {
        return Reflect.get(target, name, target);
      } else if (!(name in target)) {
        return undefined;
      } else {
        return refuse(`${String(name)} of a cursor or change stream reaches beyond one tenant`);
      }
      members.set(name, member);
      return member;
    },
    set: (_shell, name) => refuse(`${String(name)} cannot be set on a tenant-scoped cursor`),
    defineProperty: (_shell, name) => refuse(`${String(name)} cannot be defined on a tenant-scoped cursor`),
    deleteProperty: (_shell, name) => refuse(`${String(name)} cannot be deleted from a tenant-scoped cursor`),
    setPrototypeOf: () => refuse('the prototype of a tenant-scoped cursor cannot change'),
  };
  // The shell holds nothing of the driver's object: reflection finds no state, and `instanceof` still holds.
  const proxy = new Proxy(Object.create(Object.getPrototypeOf(raw)), handler) as T;
  return proxy;
}

/** A find cursor: reading, settings that cannot widen it, and a checked `collation`. */
export function guardFindCursor<T extends object>(scope: Scope, cursor: T): T {
  return guarded(cursor, FIND_GUARD(scope));
}

/** An aggregation cursor: reading, and `addStage` and its builders checked as the pipeline's stages are. */
export function guardAggregationCursor<T extends object>(scope: Scope, cursor: T): T {
  return guarded(cursor, aggregationGuard(scope));
}

/** A cursor of index or search-index descriptions: reading only. */
export function guardListingCursor<T extends object>(cursor: T): T {
  return guarded(cursor, LISTING_GUARD);
}

/** A change stream: reading, its stream, and listeners called with the proxy as `this`. */
export function guardChangeStream<T extends object>(changeStream: T): T {
  return guarded(changeStream, changeStreamGuard());
}
