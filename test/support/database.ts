/**
 * The server the tests (and the benchmarks) run against: the examples' embedded development database,
 * `examples/shared/dev-database.ts`, which decides it (`MONGODB_URI`, else mongodb-memory-server, else FerretDB).
 */
export {
  type DatabaseKind as ServerKind,
  type DevDatabase as TestServer,
  startDevDatabase as startTestServer,
} from '../../examples/shared/dev-database.js';
