/**
 * Aggregation and change-stream pipelines of a tenant-scoped collection
 * (canonical copies): every path to documents starts with the tenant's
 * `$match`, stages that reach other collections are pointed at the tenant's
 * and scoped, and stages that cannot be scoped are refused.
 */
import type { Document } from 'mongodb';
import { TenancyError } from '../../errors.js';
import {
  checkLet,
  checkSort,
  fenceFilter,
  hasKey,
  plain,
  refuse,
  type Scope,
  scopeFilter,
  tenantMatch,
  touches,
  words,
} from './scoped-rules.js';

/** The one operator of a stage, and its argument. */
function stageOf(stage: unknown): [string, unknown] {
  const keys = Object.keys(plain(stage, 'a pipeline stage'));
  if (keys.length !== 1) refuse('a pipeline stage must name exactly one operator');
  const name = keys[0] as string;
  return [name, (stage as Document)[name]];
}

function stages(pipeline: unknown, what: string): unknown[] {
  if (!Array.isArray(pipeline)) refuse(`${what} must be an array of stages`);
  return pipeline;
}

/** Stages that only transform the documents already in the pipeline. */
const TRANSFORMS: ReadonlySet<string> = words(
  '$match $project $addFields $set $unset $group $sort $limit $skip $count $unwind $bucket $bucketAuto ' +
    '$sortByCount $replaceRoot $replaceWith $sample $redact $densify $fill $setWindowFields',
);

const FIRST_ONLY = 'must be the first stage of a pipeline, so the tenant $match cannot go before it';
const WHOLE_COLLECTION = 'reports on the whole shared collection, every tenant included';

/** Known stages that cannot be scoped, and why. */
const REFUSED_STAGES: Readonly<Record<string, string>> = {
  $out: 'writes outside the tenant',
  $merge: 'writes outside the tenant',
  $collStats: WHOLE_COLLECTION,
  $indexStats: WHOLE_COLLECTION,
  $planCacheStats: WHOLE_COLLECTION,
  $currentOp: 'reports on the server, not on one tenant',
  $listSessions: 'reports on the server, not on one tenant',
  $changeStream: 'use watch(), which scopes change streams',
  $documents: FIRST_ONLY,
  $geoNear: FIRST_ONLY,
  $search: FIRST_ONLY,
  $searchMeta: FIRST_ONLY,
  $vectorSearch: FIRST_ONLY,
};

/**
 * An aggregation pipeline that starts with the tenant's `$match`, each stage
 * checked by {@link checkStage}.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a stage that cannot be kept within the tenant.
 */
export function scopePipeline(scope: Scope, pipeline: unknown): Document[] {
  return [{ $match: tenantMatch(scope) }, ...checkStages(scope, pipeline)];
}

function checkStages(scope: Scope, pipeline: unknown): Document[] {
  return stages(pipeline, 'a pipeline').map((stage) => checkStage(scope, stage));
}

/**
 * One stage of a pipeline whose input is already the tenant's: a transforming
 * stage as it is, a `$match` with its expressions fenced (see
 * {@link fenceFilter}); `$lookup`, `$graphLookup` and `$unionWith` pointed at the
 * physical collection with the tenant's condition on the documents they
 * bring in; `$facet` checked inside; anything else refused.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a stage that cannot be kept within the tenant.
 */
export function checkStage(scope: Scope, stage: unknown): Document {
  const [name, spec] = stageOf(stage);
  switch (name) {
    case '$match': // a server may merge it into the tenant's $match: its expressions are fenced
      return { $match: fenceFilter(scope, plain(spec, '$match'), true) };
    case '$sort':
      checkSort(spec);
      return stage as Document;
    case '$lookup':
      return { $lookup: lookup(scope, spec) };
    case '$graphLookup':
      return { $graphLookup: graphLookup(scope, spec) };
    case '$unionWith':
      return { $unionWith: unionWith(scope, spec) };
    case '$facet':
      return { $facet: facet(scope, spec) };
  }
  if (TRANSFORMS.has(name)) return stage as Document;
  return refuse(`${name} ${REFUSED_STAGES[name] ?? 'is not a stage known to stay within one tenant'}`);
}

function physical(scope: Scope, logical: unknown, what: string): string {
  if (typeof logical !== 'string') refuse(`${what} must name a collection`);
  return scope.physical(logical) ?? refuse(`${what} "${logical}" is not a tenant collection`);
}

/** Every form (equality, pipeline, both) becomes the pipeline form, whose pipeline starts with the tenant's $match. */
function lookup(scope: Scope, spec: unknown): Document {
  const s = plain(spec, '$lookup');
  checkLet(s.let);
  const from = physical(scope, s.from, '$lookup.from');
  return { ...s, from, pipeline: scopePipeline(scope, s.pipeline ?? []) };
}

function graphLookup(scope: Scope, spec: unknown): Document {
  const s = plain(spec, '$graphLookup');
  const from = physical(scope, s.from, '$graphLookup.from');
  const restrict = s.restrictSearchWithMatch;
  const match = restrict === undefined || restrict === null ? undefined : plain(restrict, 'restrictSearchWithMatch');
  return { ...s, from, restrictSearchWithMatch: scopeFilter(scope, match) };
}

function unionWith(scope: Scope, spec: unknown): Document {
  const s = typeof spec === 'string' ? { coll: spec } : plain(spec, '$unionWith');
  const coll = physical(scope, s.coll, '$unionWith.coll');
  return { ...s, coll, pipeline: scopePipeline(scope, s.pipeline ?? []) };
}

/** Facets read the stage's input, already the tenant's: check their stages, add no $match. */
function facet(scope: Scope, spec: unknown): Document {
  const facets = Object.entries(plain(spec, '$facet'));
  return Object.fromEntries(facets.map(([name, pipeline]) => [name, checkStages(scope, pipeline)]));
}

const UPDATE_STAGES: ReadonlySet<string> = words('$addFields $set $project $unset $replaceRoot $replaceWith');

/** Whether an update-pipeline stage names the tenant field other than to set it to the tenant's own value. */
function changesField(scope: Scope, name: string, spec: unknown): boolean {
  if (name === '$unset') return ([] as unknown[]).concat(spec).some((path) => touches(scope, path));
  if (name === '$replaceRoot' || name === '$replaceWith') return false; // not decidable: the final $set restores it
  return Object.entries(plain(spec, name)).some(
    ([path, value]) => touches(scope, path) && !(name !== '$project' && path === scope.field && value === scope.value),
  );
}

/**
 * An update pipeline that cannot change the tenant field: a stage naming it
 * is refused, and a final `$set` puts the tenant's value back whatever the
 * stages did (a `$replaceWith` cannot be checked) and gives an upsert's new
 * document the field.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a stage that is not an update stage, or changes the field.
 */
export function scopeUpdatePipeline(scope: Scope, pipeline: readonly unknown[]): Document[] {
  for (const stage of pipeline) {
    const [name, spec] = stageOf(stage);
    if (!UPDATE_STAGES.has(name)) refuse(`${name} is not an update-pipeline stage`);
    if (changesField(scope, name, spec)) refuse(`an update must not change the tenant field ${scope.field}`);
  }
  return [...(pipeline as Document[]), { $set: { [scope.field]: { $literal: scope.value } } }];
}

/** Operators that evaluate code or expressions on a document, and can fail on one. */
const EVALUATING: ReadonlySet<string> = words('$expr $where $function $accumulator');

const CHANGE_STREAM_STAGES: ReadonlySet<string> = words(
  '$addFields $match $project $replaceRoot $replaceWith $redact $set $unset $changeStreamSplitLargeEvent',
);

/**
 * A change-stream pipeline that lets through only events about the tenant's
 * documents: an event must carry the document after the change
 * (`fullDocument`) or before it (`fullDocumentBeforeChange`), and each it
 * carries must be the tenant's. The handle refuses `fullDocument:
 * 'updateLookup'` (see `watch` on the handle), so `fullDocument` is the
 * inserted or replacing document, or an update's post-image: both the
 * document as the change left it, as the pre-image is before it.
 *
 * @throws {@link TenancyError} `UNSCOPED_OPERATION` for a stage a change stream does not take.
 */
export function scopeChangeStream(scope: Scope, pipeline: unknown): Document[] {
  const checked = stages(pipeline, 'a change-stream pipeline').map((stage) => {
    const [name, spec] = stageOf(stage);
    if (!CHANGE_STREAM_STAGES.has(name)) refuse(`${name} is not a change-stream stage`);
    // A server may test a change stream's $match on every event it reads, the other tenants' included.
    if (name === '$match' && hasKey(spec, (key) => EVALUATING.has(key)))
      refuse('$expr, $where and $function in a change stream\u2019s $match');
    return stage as Document;
  });
  const after = { [`fullDocument.${scope.field}`]: scope.value };
  const before = { [`fullDocumentBeforeChange.${scope.field}`]: scope.value };
  const tenantsOnly = {
    $and: [
      { $or: [after, before] },
      { $or: [after, { fullDocument: null }] },
      { $or: [before, { fullDocumentBeforeChange: null }] },
    ],
  };
  return [{ $match: tenantsOnly }, ...checked];
}
