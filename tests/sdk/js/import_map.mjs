// Print the import map that lets a browser load @sentry/browser straight
// from node_modules as native ES modules.
//
// The npm package of @sentry/browser 11 holds no prebuilt bundle (Sentry's
// CDN serves those); it is ES modules that import other packages by bare
// name. A page can load them unchanged once an import map says where each
// bare name lives. Each name is resolved here by Node, through the
// packages' own "exports", so no path inside a package is written down.
//
// Usage: node import_map.mjs  ->  {"imports": {"@sentry/browser": "/node_modules/…"}}

import { relative } from "node:path";
import { fileURLToPath } from "node:url";

// Every bare specifier that @sentry/browser and the packages it loads import;
// a new one in a later SDK version shows up as "Failed to resolve module
// specifier" among the page errors the tests report.
const SPECIFIERS = [
  "@sentry/browser",
  "@sentry/browser-utils",
  "@sentry/conventions/attributes",
  "@sentry/conventions/metrics",
  "@sentry/conventions/op",
  "@sentry/core",
  "@sentry/core/browser",
  "@sentry/feedback",
  "@sentry/replay",
  "@sentry/replay-canvas",
  "web-vitals",
];

const root = fileURLToPath(new URL(".", import.meta.url));
const imports = {};
for (const specifier of SPECIFIERS) {
  const file = fileURLToPath(import.meta.resolve(specifier));
  imports[specifier] = "/" + relative(root, file);
}
process.stdout.write(JSON.stringify({ imports }) + "\n");
