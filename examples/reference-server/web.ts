/** What both apps serve besides the API: security headers, and the /docs page from swagger-ui-dist, locally. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAbsoluteFSPath } from 'swagger-ui-dist';

/** Headers sent with every response. */
export const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

/** The /docs page may load its own scripts, styles and images, and nothing else. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Organization Management Service: API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body>
</html>`;

export const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`;

const ASSETS = new Map([
  ['swagger-ui.css', 'text/css'],
  ['swagger-ui-bundle.js', 'application/javascript'],
]);

/** A swagger-ui asset by file name, or `null` for any other name. */
export async function docsAsset(name: string): Promise<{ type: string; body: Buffer } | null> {
  const type = ASSETS.get(name);
  return type ? { type, body: await readFile(join(getAbsoluteFSPath(), name)) } : null;
}
