import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { openApiDocument } from "@spendlens/api";

// Paths found through this package's package.json (see server.ts: they hold when bundled into the CLI).
const SERVER_PKG = createRequire(import.meta.url).resolve("@spendlens/server/package.json");
const UI_DIR = join(dirname(SERVER_PKG), "docs-ui");
const SWAGGER_DIR = dirname(createRequire(SERVER_PKG).resolve("swagger-ui-dist/package.json"));

const FILES: Record<string, [file: string, type: string]> = {
  "/docs": [join(UI_DIR, "index.html"), "text/html; charset=utf-8"],
  "/docs/init.js": [join(UI_DIR, "init.js"), "text/javascript; charset=utf-8"],
  "/docs/vendor/swagger-ui.css": [join(SWAGGER_DIR, "swagger-ui.css"), "text/css; charset=utf-8"],
  "/docs/vendor/swagger-ui-bundle.js": [
    join(SWAGGER_DIR, "swagger-ui-bundle.js"),
    "text/javascript; charset=utf-8",
  ],
};

let documentJson: Buffer | undefined;

/**
 * GET /openapi.json (the REST routes' OpenAPI 3.1 document) and /docs (Swagger UI on it, from the
 * swagger-ui-dist package: nothing from a CDN). Neither needs a key, as LiteLLM's /docs and
 * /openapi.json. Returns false for any other path.
 */
export async function serveApiDocs(path: string, res: ServerResponse): Promise<boolean> {
  if (path === "/openapi.json") {
    // The document depends only on the code: built once.
    documentJson ??= Buffer.from(JSON.stringify(openApiDocument()), "utf8");
    res.writeHead(200, { "content-type": "application/json", "content-length": documentJson.length });
    res.end(documentJson);
    return true;
  }
  const entry = FILES[path];
  if (!entry) return false;
  const body = await readFile(entry[0]);
  res.writeHead(200, {
    "content-type": entry[1],
    "content-length": body.length,
    ...(path.startsWith("/docs/vendor/") ? { "cache-control": "max-age=86400" } : {}),
  });
  res.end(body);
  return true;
}
