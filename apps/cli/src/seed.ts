import { type Db, MAX_INGEST_BATCH } from "@spendlens/core";
import { buildWorld, type DemoErrorLog, type DemoLog, generateLogs } from "@spendlens/core/demo";
import type { Remote } from "./client.ts";
import { httpFetch } from "./http.ts";

/** Spend logs in the database now. */
export async function countLogs(db: Db): Promise<number> {
  const r = await db
    .selectFrom("LiteLLM_SpendLogs")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export interface RemoteSeedResult {
  logs_before: number;
  logs_inserted: number;
  /** Sent but already stored (the same seed run before; counted once). */
  logs_already_there: number;
  logs_now: number;
  error_logs_inserted: number;
  /** Rows the server refused (none expected from the generator). */
  invalid: number;
}

/** Requests in flight at once: the server's ingest groups concurrent calls (group commit). */
const IN_FLIGHT = 4;

async function call(remote: Remote, method: string, path: string, body?: unknown): Promise<any> {
  const res = await httpFetch(`${remote.url.replace(/\/+$/, "")}${path}`, {
    method,
    headers: {
      ...(remote.key ? { authorization: `Bearer ${remote.key}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: reported below */
  }
  if (res.status !== 200) {
    const msg = parsed?.error?.message ?? text.slice(0, 200);
    throw new Error(`${method} ${path}: ${msg} (${res.status})`);
  }
  return parsed;
}

/** A generated log as the ingest route takes it (JSON columns as JSON, not as text). */
const ingestRow = (l: DemoLog) => ({
  ...l,
  metadata: JSON.parse(l.metadata),
  request_tags: JSON.parse(l.request_tags),
});

/**
 * Demo logs through a server's ingest routes (POST /spend/logs/ingest, /error/logs/ingest), for a
 * database the CLI cannot open itself: the embedded folder a running server holds, or --url. The rows
 * are the ones `seedDemoData` writes in process (same seed, same request ids), so a repeated run adds
 * nothing twice. The demo keys, users and teams are not sent: the server's own first start wrote them.
 */
export async function seedThroughServer(
  remote: Remote,
  o: { logs: number; seed: number; days: number },
  onProgress: (sent: number) => void,
): Promise<RemoteSeedResult> {
  const countNow = async () =>
    ((await call(remote, "GET", "/spendlens/logs?limit=1&include_total=true")) as { total: number }).total;
  const before = await countNow();
  const world = buildWorld({ seed: o.seed });
  const rows = generateLogs(world, o.logs, { seed: o.seed, days: o.days });
  let inserted = 0;
  let already = 0;
  let invalid = 0;
  let errorsInserted = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  // The first failure ends the seed; calls already in flight finish (or fail) unobserved.
  let failure: unknown = null;
  const send = async (logs: DemoLog[], errors: DemoErrorLog[]) => {
    const r = await call(remote, "POST", "/spend/logs/ingest", { logs: logs.map(ingestRow) });
    inserted += r.inserted;
    already += r.duplicates.length + r.conflicts.length;
    invalid += r.invalid.length;
    if (errors.length) {
      const e = await call(remote, "POST", "/error/logs/ingest", { logs: errors });
      errorsInserted += e.inserted;
    }
    sent += logs.length;
    onProgress(sent);
  };
  let logs: DemoLog[] = [];
  let errors: DemoErrorLog[] = [];
  const flush = async () => {
    if (!logs.length) return;
    const p: Promise<void> = send(logs, errors)
      .catch((e: unknown) => {
        failure ??= e;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    logs = [];
    errors = [];
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (failure) throw failure;
  };
  for (const { log, error } of rows) {
    logs.push(log);
    if (error) errors.push(error);
    if (logs.length === MAX_INGEST_BATCH) await flush();
  }
  await flush();
  await Promise.all(inFlight);
  if (failure) throw failure;
  return {
    logs_before: before,
    logs_inserted: inserted,
    logs_already_there: already,
    logs_now: await countNow(),
    error_logs_inserted: errorsInserted,
    invalid,
  };
}
