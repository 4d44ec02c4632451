#!/usr/bin/env node
// Writes scripts/testDurations.json from the last `pnpm test` run's per-file durations
// (.test-reports/projects.json, or the file named): the order of a run without vitest's cache of the last durations (a
// clean checkout, CI), longest files first (vitest.config.ts, LongestFirst). Run it after a full run on
// a quiet machine and commit the file; only the order matters, not the numbers.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const from = process.argv[2] ?? join(root, ".test-reports", "projects.json");
const { files } = JSON.parse(readFileSync(from, "utf8"));
const out = {};
for (const f of [...files].sort((a, b) => b.ms - a.ms))
  out[`${f.project}:${f.file}`] = Math.round(f.ms / 100) * 100;
writeFileSync(join(root, "scripts", "testDurations.json"), `${JSON.stringify(out, null, 2)}\n`);
console.log(`scripts/testDurations.json: ${Object.keys(out).length} files`);
