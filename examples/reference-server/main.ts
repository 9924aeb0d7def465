/**
 * `npm start` (Express) and `npm run start:koa`: the original service's API on
 * port 8000, on MONGO_URI or on an embedded database.
 */
import { ConfigError, loadConfig } from './config.js';
import { type Framework, startServer } from './server.js';

const framework: Framework = process.argv[2] === 'koa' ? 'koa' : 'express';
const log = (line: string) => console.log(line);

try {
  const config = loadConfig();
  if (config.secretSource === 'generated') {
    log('SECRET_KEY is not set: using a random key for this run (development only; tokens end with the process).');
  }
  const server = await startServer(framework, config, log);
  log(`Organization Management Service (${framework}) on ${server.database} database, ${config.tenantLayout} layout`);
  log(`Listening on ${server.url}  (API reference: ${server.url}/docs)`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Configuration error: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
