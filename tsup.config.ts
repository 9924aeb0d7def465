import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig } from 'tsup';

/**
 * One implementation for both module systems: the CommonJS build is the
 * package, and the ESM entry only re-exports it. `import` and `require` then
 * get the same module instance (one TenancyError class, one AuthService), and
 * the ESM types re-export the CommonJS ones, so a program mixing the two
 * (a CommonJS app loading an ESM adapter, or the reverse) sees one set of types.
 */
function writeEsmEntry(outDir: string): void {
  const cjsPath = resolve(outDir, 'index.cjs');
  const load = createRequire(cjsPath);
  delete load.cache[cjsPath];
  const names = Object.keys(load(cjsPath) as object).sort();
  const banner =
    '// The ESM entry of mongo-tenancy: the CommonJS build, re-exported, so that import and require share one instance.';
  writeFileSync(
    resolve(outDir, 'index.js'),
    `${banner}\nimport cjs from './index.cjs';\n\nexport const { ${names.join(', ')} } = cjs;\n`,
  );
  writeFileSync(resolve(outDir, 'index.d.ts'), `${banner}\nexport * from './index.cjs';\n`);
}

export default defineConfig((cli) => {
  const outDir = cli.outDir ?? 'dist';
  // Cleaned here, once: tsup's own `clean` would let its declaration build delete the ESM entry's index.d.ts.
  rmSync(outDir, { recursive: true, force: true });
  return {
    entry: ['src/index.ts'],
    format: ['cjs'],
    outDir,
    dts: true,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    treeshake: true,
    // import.meta.url in the CommonJS build (the worker pool resolves bcryptjs with it).
    shims: true,
    onSuccess: async () => writeEsmEntry(outDir),
  };
});
