import type { TestProject } from 'vitest/node';
import { startTestServer } from './database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    mongoServerKind: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startTestServer();
  console.log(`mongo-tenancy tests: using ${server.kind} at ${server.uri.replace(/\/\/[^@]*@/, '//***@')}`);
  project.provide('mongoUri', server.uri);
  project.provide('mongoServerKind', server.kind);
  return () => server.stop();
}
