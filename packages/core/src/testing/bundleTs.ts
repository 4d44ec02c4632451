/**
 * A TypeScript entry for a child process, bundled with esbuild into one ES module (the workspace's own
 * sources inside it; every package from node_modules left outside, imported by its resolved path) so the
 * child starts with plain `node`. Under `node --import tsx` every module of the child (kysely's,
 * zod's, ours: ~600) went through tsx's loader hooks, which on Node 20 run in a thread of their own:
 * ~2.5 s of CPU before the child's first line, against ~0.2 s for the bundle and ~0.3 s to build it.
 * The children behave as under tsx: `import.meta.url` in a bundled source is that source's own URL (the
 * modules that find files next to themselves find them; the entry's is the bundle's, so that its test
 * against process.argv[1] holds), and the packages are the same files.
 * The bundle is written to `<tmp>/spendlens-bundle-<run id>-…/` (scripts/test.mjs removes a run's
 * folders); `remove()` deletes it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as Esbuild from "esbuild";
import { testRunId } from "./index.ts";
import { awaitChild, type IsolatedRun } from "./isolated.ts";

const BUILTIN = new Set(builtinModules);
// Spelled in parts: this file is itself bundled into a child that imports @spendlens/core/testing, and
// the whole expression written here would be replaced in its own source.
const META_URL = ["import", "meta", "url"].join(".");
const INNER = Symbol("resolving for the plugin");

const plugin = (entry: string): Esbuild.Plugin => ({
  name: "spendlens-child-bundle",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === INNER) return undefined;
      if (args.path.startsWith("node:") || BUILTIN.has(args.path.split("/")[0]!))
        return { path: args.path, external: true };
      const r = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: INNER,
      });
      if (r.errors.length) return { errors: r.errors };
      // A package from node_modules: imported by the child from its own files. A workspace package
      // (its symlink resolved to packages/… or apps/…): bundled.
      return r.path.includes("/node_modules/") ? { path: r.path, external: true } : { path: r.path };
    });
    b.onLoad({ filter: /\.[cm]?tsx?$/ }, (args) => {
      // The entry keeps its own import.meta.url, the bundle's (an entry's "am I the main module" test
      // compares it with process.argv[1]).
      if (args.path.includes("/node_modules/") || args.path === entry) return undefined;
      const text = readFileSync(args.path, "utf8");
      return {
        contents: text.replaceAll(META_URL, JSON.stringify(pathToFileURL(args.path).href)),
        loader: args.path.endsWith("x") ? "tsx" : "ts",
      };
    });
  },
});

export interface Bundle {
  /** The bundle's path: `node <file>` runs the entry. */
  file: string;
  remove(): void;
}

/** Bundles `entry` (a .ts file) for `node`; see the file's comment. */
export async function bundleTs(entry: string): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), `spendlens-bundle-${testRunId()}-`));
  const file = join(dir, `${basename(entry).replace(/\.[cm]?tsx?$/, "")}.mjs`);
  // Imported on first use: a test file that bundles nothing does not load esbuild.
  const esbuild = await import("esbuild");
  try {
    await esbuild.build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      plugins: [plugin(realpathSync(entry))],
      logLevel: "warning",
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    // The esbuild service process ends here (and its CPU time is counted as this process's child's).
    await esbuild.stop();
  }
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts a TypeScript entry as a child process (stdout and stderr piped), on its bundle: `node <bundle>`. */
export async function spawnBundled(
  entry: string,
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ child: ChildProcess; bundle: Bundle }> {
  const bundle = await bundleTs(entry);
  const child = spawn(process.execPath, [bundle.file], {
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { child, bundle };
}

/** `awaitChild` on the entry's bundle: runs it to its end, or kills it (SIGKILL) after `timeoutMs`. */
export async function runBundled(entry: string, opts: { timeoutMs: number }): Promise<IsolatedRun> {
  const { child, bundle } = await spawnBundled(entry);
  try {
    return await awaitChild(child, opts.timeoutMs);
  } finally {
    bundle.remove();
  }
}
