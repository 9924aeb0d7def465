/**
 * Every ```ts sample in README.md and docs/*.md runs against the test server,
 * and each `console.log(...); // expected` line prints what its comment says.
 * Samples read MONGODB_URI, MASTER_DB_NAME and SECRET_KEY from the environment.
 * test/package/pack.test.ts runs the README's quick start again from the packed tarball.
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';

const root = resolve(import.meta.dirname, '..');
// One level below the root, as docs/ is, so a sample's '../examples/...' imports resolve as they read.
const outDir = join(root, '.doc-samples');
const documents = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Sample {
  file: string;
  line: number;
  code: string;
}

function samplesOf(file: string): Sample[] {
  const text = readFileSync(join(root, file), 'utf8');
  const samples: Sample[] = [];
  const fence = /^```ts\n([\s\S]*?)^```/gm;
  for (let match = fence.exec(text); match; match = fence.exec(text)) {
    const line = text.slice(0, match.index).split('\n').length;
    samples.push({ file, line, code: match[1] as string });
  }
  return samples;
}

function expectedOutput(code: string): string[] {
  return [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => (m[1] as string).trim());
}

const samples = documents.flatMap(samplesOf);
mkdirSync(outDir, { recursive: true });
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('documentation samples', () => {
  it('finds samples to run', () => {
    expect(samples.length).toBeGreaterThan(0);
  });

  it.each(samples.map((s) => [`${s.file}:${s.line}`, s] as const))('%s runs as written', async (_where, sample) => {
    const master = `docs_${randomBytes(4).toString('hex')}`;
    vi.stubEnv('MONGODB_URI', inject('mongoUri'));
    vi.stubEnv('MASTER_DB_NAME', master);
    // As an application would have it: the README's quick start reads its signing secret from SECRET_KEY.
    vi.stubEnv('SECRET_KEY', randomBytes(32).toString('base64url'));
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
    });
    const path = join(outDir, `${sample.file.replace(/\W/g, '_')}_${sample.line}.ts`);
    writeFileSync(path, sample.code);
    try {
      await import(path);
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
      const { MongoClient } = await import('mongodb');
      const client = new MongoClient(inject('mongoUri'));
      await client.db(master).dropDatabase();
      await client.close();
    }
    expect(printed).toEqual(expectedOutput(sample.code));
  });
});
