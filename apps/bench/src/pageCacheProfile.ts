import {
  ALL,
  agentDailyActivityJson,
  customerDailyActivityJson,
  emptyConfig,
  openDatabase,
  organizationDailyActivityJson,
  tagDailyActivityJson,
  teamDailyActivityJson,
  userDailyActivityJson,
} from "@spendlens/core";
import { dailyPageCache, setDailyPageCache } from "@spendlens/core/runtime";
import { startServer } from "@spendlens/server";
import { fmtMs, percentile, profileArgs, table } from "./stats.ts";

/**
 * The page cache of the paginated daily-activity routes (core activity/pageCache.ts), cold vs warm,
 * in process on DATABASE_URL:
 *   DATABASE_URL=… npx tsx src/pageCacheProfile.ts [--rounds 30]
 * Two handles on the same database, each behind its own in-process server: one with the page cache off
 * (every call builds its page: the cold path, as before the cache), one with it on (after the first
 * call, a hit). Per route (30-day window ending today, page 1 of the route's default size), interleaved
 * call by call: cold HTTP, warm HTTP. The two answers are checked equal (bytes) every round.
 */

const { url, rounds, start, end } = profileArgs(30);
const ROUTES = ["user", "team", "organization", "customer", "agent", "tag"];
type Json = (db: any, scope: typeof ALL, input: any) => Promise<Uint8Array>;
const CORE: Record<string, Json> = {
  user: userDailyActivityJson,
  team: teamDailyActivityJson,
  organization: organizationDailyActivityJson,
  customer: customerDailyActivityJson,
  agent: agentDailyActivityJson,
  tag: tagDailyActivityJson,
};

process.env.SPENDLENS_LOG_LEVEL ??= "silent";
const master = "sk-bench-pagecache-master";
const cold = await openDatabase({ databaseUrl: url });
const warm = await openDatabase({ databaseUrl: url });
setDailyPageCache(cold.db, null);
setDailyPageCache(warm.db, 64 * 2 ** 20);
const serve = (h: typeof cold) =>
  startServer({ services: { db: h.db, handle: h, config: emptyConfig(), masterKey: master }, port: 0 });
const sCold = await serve(cold);
const sWarm = await serve(warm);
const query = new URLSearchParams({ start_date: start, end_date: end, page: "1" });
const get = async (base: string, route: string) => {
  const t0 = performance.now();
  const res = await fetch(`${base}/${route}/daily/activity?${query}`, {
    headers: { authorization: `Bearer ${master}` },
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return { ms, text };
};
const samples = new Map<
  string,
  { cold: number[]; warm: number[]; coreCold: number[]; coreWarm: number[]; bytes: number }
>();
const input = { start_date: start, end_date: end, page: 1, page_size: 0 };
const timeCore = async (db: typeof cold.db, route: string) => {
  const t0 = performance.now();
  await CORE[route]!(db, ALL, { ...input, page_size: route === "user" ? 50 : 10 });
  return performance.now() - t0;
};
/** The floor: /healthz (no auth, no database) and a bare round trip, interleaved with the routes. */
const floor = { healthz: [] as number[], rt: [] as number[] };
try {
  for (let r = 0; r < rounds + 2; r++) {
    const t0 = performance.now();
    await (await fetch(`${sWarm.url}/healthz`)).text();
    const t1 = performance.now();
    await warm.pool!.query("SELECT 1");
    if (r >= 2) {
      floor.healthz.push(t1 - t0);
      floor.rt.push(performance.now() - t1);
    }
    for (const route of ROUTES) {
      // The order alternates round by round (what runs second pays for what the first left behind).
      const [c, w] =
        r % 2
          ? [await get(sCold.url, route), await get(sWarm.url, route)]
          : await get(sWarm.url, route).then(async (x) => [await get(sCold.url, route), x] as const);
      if (c.text !== w.text) throw new Error(`${route}: the cached answer differs from the uncached one`);
      const cc = await timeCore(cold.db, route);
      const cw = await timeCore(warm.db, route);
      if (r < 2) continue; // warm-ups (the first fills the cache)
      const s = samples.get(route) ?? {
        cold: [],
        warm: [],
        coreCold: [],
        coreWarm: [],
        bytes: c.text.length,
      };
      s.cold.push(c.ms);
      s.warm.push(w.ms);
      s.coreCold.push(cc);
      s.coreWarm.push(cw);
      samples.set(route, s);
    }
  }
  const rows = [...samples].map(([route, s]) => {
    const c = percentile(s.cold, 50);
    const w = percentile(s.warm, 50);
    const kc = percentile(s.coreCold, 50);
    const kw = percentile(s.coreWarm, 50);
    return [
      route,
      fmtMs(c),
      fmtMs(w),
      `${(c / w).toFixed(2)}×`,
      fmtMs(kc),
      fmtMs(kw),
      `${(kc / kw).toFixed(2)}×`,
      `${(s.bytes / 1024).toFixed(0)} kB`,
    ];
  });
  const head = ["route (page 1, 30 days)", "HTTP cold", "HTTP warm", "cold / warm"];
  head.push("core cold", "core warm", "cold / warm", "answer");
  process.stdout.write(`${table(head, rows)}\n`);
  process.stdout.write(
    `floor: GET /healthz p50 ${fmtMs(percentile(floor.healthz, 50))}, SELECT 1 p50 ${fmtMs(percentile(floor.rt, 50))}\n`,
  );
  process.stdout.write(`cache: ${JSON.stringify(dailyPageCache(warm.db)?.stats)}\n`);
} finally {
  await sCold.close();
  await sWarm.close();
  await cold.close();
  await warm.close();
}
