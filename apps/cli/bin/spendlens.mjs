#!/usr/bin/env -S node --max-semi-space-size=4
// Runs the bundled CLI (dist/main.cjs, made by `pnpm build`, loaded with its V8 code cache by
// loadBundle.mjs) when it is newer than every source it is built from; otherwise the TypeScript sources
// directly through tsx (no build step needed, slower start). SPENDLENS_CLI_FROM_SOURCE=1 always runs the
// sources.
import { readdirSync, statSync } from "node:fs";

const root = new URL("../../../", import.meta.url);
const dist = new URL("../dist/main.cjs", import.meta.url);

/** Newest modification time (ms) of the files below a folder (skipping node_modules and dist). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name === "dist") continue;
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function bundleIsFresh() {
  if (process.env.SPENDLENS_CLI_FROM_SOURCE === "1") return false;
  let built;
  try {
    built = statSync(dist).mtimeMs;
  } catch {
    return false;
  }
  const sources = ["packages/core/src", "packages/api/src", "apps/server/src", "apps/cli/src"].map(
    (d) => new URL(d, root).pathname,
  );
  const files = ["pnpm-lock.yaml", "apps/cli/build.mjs"].map((f) => statSync(new URL(f, root)).mtimeMs);
  return Math.max(...files, ...sources.map(newest)) <= built;
}

let main;
if (bundleIsFresh()) {
  const { loadBundle } = await import("./loadBundle.mjs");
  ({ main } = loadBundle(dist.pathname));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/main.ts"));
}
await main(process.argv);
