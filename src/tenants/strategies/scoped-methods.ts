/**
 * The table of every member of the driver's `Collection` and how a
 * tenant-scoped handle treats it. A member missing here is refused, so a
 * driver upgrade cannot open a hole; a test walks `Collection.prototype`
 * and fails on any member the table does not list.
 */
/** How the scoped handle treats one member of `Collection`. */
export type MemberTreatment = 'scoped' | 'passthrough' | 'refused';

/**
 * Every `Collection.prototype` member of the `mongodb` driver (and the
 * instance members `db`, `s`, `client`), and how the handle treats it. A
 * member of the collection missing here is refused: a driver upgrade cannot
 * open a hole. Exported for the prototype-walk test and the documentation.
 *
 * @example
 * ```ts
 * COLLECTION_METHODS.find; // 'scoped'
 * COLLECTION_METHODS.drop; // 'refused': it would drop every tenant's documents
 * ```
 */
export const COLLECTION_METHODS: Readonly<Record<string, MemberTreatment>> = Object.freeze<
  Record<string, MemberTreatment>
>({
  // The class itself, so `instanceof` and `constructor.name` behave; it reaches nothing without a Db.
  // (`as const`: TypeScript otherwise types a property named constructor as a string here.)
  constructor: 'passthrough' as const,
  // Names and settings: no documents.
  dbName: 'passthrough',
  collectionName: 'passthrough',
  namespace: 'passthrough',
  fullNamespace: 'passthrough',
  readConcern: 'passthrough',
  readPreference: 'passthrough',
  bsonOptions: 'passthrough',
  writeConcern: 'passthrough',
  hint: 'passthrough',
  timeoutMS: 'passthrough',
  // Index and collection metadata: no tenant data. Their options are allow-listed (`dbName` would read another
  // database's), and their cursors guarded (a driver cursor reaches the client).
  options: 'scoped',
  isCapped: 'scoped',
  listIndexes: 'scoped',
  indexes: 'scoped',
  indexExists: 'scoped',
  indexInformation: 'scoped',
  listSearchIndexes: 'scoped',
  // Filters, documents, updates, pipelines and index keys rewritten for the tenant; cursors and change streams guarded.
  insertOne: 'scoped',
  insertMany: 'scoped',
  bulkWrite: 'scoped',
  updateOne: 'scoped',
  updateMany: 'scoped',
  replaceOne: 'scoped',
  deleteOne: 'scoped',
  deleteMany: 'scoped',
  findOne: 'scoped',
  find: 'scoped',
  countDocuments: 'scoped',
  distinct: 'scoped',
  findOneAndDelete: 'scoped',
  findOneAndReplace: 'scoped',
  findOneAndUpdate: 'scoped',
  aggregate: 'scoped',
  watch: 'scoped',
  createIndex: 'scoped',
  createIndexes: 'scoped',
  // Every tenant's data or the shared collection itself.
  db: 'refused', // the database: every collection, unscoped
  s: 'refused', // the driver's internal state
  client: 'refused', // the MongoClient: every database, unscoped
  rename: 'refused',
  drop: 'refused',
  dropIndex: 'refused',
  dropIndexes: 'refused',
  createSearchIndex: 'refused',
  createSearchIndexes: 'refused',
  dropSearchIndex: 'refused',
  updateSearchIndex: 'refused',
  estimatedDocumentCount: 'refused', // the whole collection's count
  count: 'refused', // deprecated; countDocuments is scoped
  initializeOrderedBulkOp: 'refused', // their builders take filters and documents the handle never sees
  initializeUnorderedBulkOp: 'refused',
});

export const TREATMENT: ReadonlyMap<string, MemberTreatment> = new Map(Object.entries(COLLECTION_METHODS));
/** `Object.prototype` members that read nothing of the collection. */
export const OBJECT_MEMBERS: ReadonlySet<string> = new Set(
  'toString toLocaleString valueOf hasOwnProperty isPrototypeOf propertyIsEnumerable __proto__'.split(' '),
);
