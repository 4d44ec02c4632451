import { type AppRouter, appRouter, type Context, createLocalContext, procedureMeta } from "@spendlens/api";
import {
  embeddedMasterKey,
  embeddedServer,
  openRuntime,
  type Runtime,
  type Settings,
  settingsFromEnv,
} from "@spendlens/core/runtime";
import {
  createTRPCClient,
  httpBatchLink,
  httpBatchStreamLink,
  splitLink,
  type TRPCClient,
  unstable_localLink,
} from "@trpc/client";
import { trpcFetch } from "./http.ts";
import { baselineWasmOnly } from "./wasmTier.ts";

export interface ConnectOptions {
  /** A spendlens server; when set, procedures run there over HTTP with `key`. */
  url?: string;
  key?: string;
  /** In process: these override the environment. */
  databaseUrl?: string;
  dataDir?: string;
  config?: string;
}

/** A server the CLI talks to. */
export interface Remote {
  url: string;
  key: string | undefined;
  /** Set when no --url was given: the embedded folder a running server holds (and told its URL). */
  heldDir?: string;
}

export interface Connection {
  client: TRPCClient<AppRouter>;
  mode: "remote" | "local";
  runtime: Runtime | null;
  /** In process: the context every call runs with (the caller proxy_admin). */
  context: Context | null;
  remote: Remote | null;
  close(): Promise<void>;
}

/**
 * Where commands go: `--url`, or else, on the embedded default, the server that holds the folder now
 * (it writes where it listens into the folder; PGlite cannot be opened by a second process), signed in
 * with --key, SPENDLENS_MASTER_KEY or the admin key kept in the folder, so the CLI stays proxy_admin
 * as in process. Null: in process on the database.
 */
export function remoteTarget(o: ConnectOptions): Remote | null {
  if (o.url) return { url: o.url, key: o.key ?? process.env.SPENDLENS_API_KEY };
  const s = localSettings(o);
  if (s.databaseUrl) return null;
  const rec = embeddedServer(s.dataDir);
  if (!rec) return null;
  const key = o.key ?? s.masterKey ?? embeddedMasterKey(s.dataDir) ?? process.env.SPENDLENS_API_KEY;
  return { url: rec.url, key, heldDir: s.dataDir };
}

export function localSettings(o: ConnectOptions): Settings {
  return settingsFromEnv(process.env, {
    ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.config ? { configPath: o.config } : {}),
  });
}

/**
 * One typed client, two transports: over HTTP to a server, or in process on the database (as
 * proxy_admin, since whoever can open the database can read it all). Every command goes through it.
 */
export async function connect(o: ConnectOptions): Promise<Connection> {
  const remote = remoteTarget(o);
  if (remote) {
    const { key } = remote;
    const http = {
      url: `${remote.url.replace(/\/+$/, "")}/trpc`,
      headers: () => (key ? { authorization: `Bearer ${key}` } : {}),
      // node:http, not the global fetch (http.ts: undici's load is a third of a command's CPU).
      fetch: trpcFetch,
    };
    // Procedures whose big answers stream (meta.streamed) go through the jsonl link, the rest through
    // the batch link: both one call per request. Not httpLink: it asks whether each input is a FormData,
    // and in Node 20 the FormData global loads undici (~0.04 CPU-s of a ~0.35 CPU-s command).
    const client = createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => !!procedureMeta(op.path)?.streamed,
          true: httpBatchStreamLink({ ...http, maxItems: 1 }),
          false: httpBatchLink({ ...http, maxItems: 1 }),
        }),
      ],
    });
    return { client, mode: "remote", runtime: null, context: null, remote, close: async () => {} };
  }
  const settings = localSettings(o);
  // One command on the embedded folder, then the process exits (wasmTier.ts).
  if (!settings.databaseUrl) baselineWasmOnly();
  const runtime = await openRuntime(settings);
  const ctx = createLocalContext({ db: runtime.handle.db, handle: runtime.handle, config: runtime.config });
  const client = createTRPCClient<AppRouter>({
    links: [unstable_localLink({ router: appRouter, createContext: async () => ctx })],
  });
  return { client, mode: "local", runtime, context: ctx, remote: null, close: () => runtime.close() };
}

/** Calls a procedure by its dotted path, as a query or mutation as the router defines it. */
export async function callProcedure(conn: Connection, path: string, input: unknown): Promise<unknown> {
  const procs = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;
  const proc = procs[path];
  if (!proc) {
    const known = Object.keys(procs).sort().join(", ");
    throw new Error(`no procedure "${path}"; known: ${known}`);
  }
  const node = path.split(".").reduce<any>((o, k) => o[k], conn.client);
  const out = await (proc._def.type === "mutation" ? node.mutate(input) : node.query(input));
  return collectStreamedLists(out);
}

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  !!v && typeof v === "object" && Symbol.asyncIterator in v;

/**
 * A streamed answer (its list an async iterable over httpBatchStreamLink) as the whole value, for the
 * table and `call` output, which print the whole answer anyway.
 */
export async function collectStreamedLists(out: unknown): Promise<unknown> {
  if (isAsyncIterable(out)) {
    const all: unknown[] = [];
    for await (const x of out) all.push(x);
    return all;
  }
  if (!out || typeof out !== "object" || Array.isArray(out)) return out;
  const o = out as Record<string, unknown>;
  if (!Object.values(o).some(isAsyncIterable)) return out;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) copy[k] = isAsyncIterable(v) ? await collectStreamedLists(v) : v;
  return copy;
}

export function procedureNames(): string[] {
  return Object.keys(appRouter._def.procedures as object).sort();
}
