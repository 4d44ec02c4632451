import { emptyConfig, openDatabase } from "@spendlens/core";
import { dailyPageCache, setDailyPageCache } from "@spendlens/core/runtime";
import { startServer } from "@spendlens/server";
import { fmtMs, percentile, table } from "./stats.ts";

/**
 * The page cache of the paginated daily-activity routes (core activity/pageCache.ts), cold vs warm,
 * in process on DATABASE_URL:
 *   DATABASE_URL=… npx tsx src/pageCacheProfile.ts [--rounds 30]
 * Two handles on the same database, each behind its own in-process server: one with the page cache off
 * (every call builds its page: the cold path, as before the cache), one with it on (after the first
 * call, a hit). Per route (30-day window ending today, page 1 of the route's default size), interleaved
 * call by call: cold HTTP, warm HTTP. The two answers are checked equal (bytes) every round.
 */

const url = process.env.DATABASE_URL;
if (!url) throw new Error("DATABASE_URL is required");
const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf("--rounds") + 1] ?? 30) || 30;
const day = (d: Date) => d.toISOString().slice(0, 10);
const end = day(new Date());
const start = day(new Date(Date.now() - 29 * 86_400_000));
const ROUTES = ["user", "team", "organization", "customer", "agent", "tag"];

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
const samples = new Map<string, { cold: number[]; warm: number[]; bytes: number }>();
try {
  for (let r = 0; r < rounds + 2; r++) {
    for (const route of ROUTES) {
      const c = await get(sCold.url, route);
      const w = await get(sWarm.url, route);
      if (c.text !== w.text) throw new Error(`${route}: the cached answer differs from the uncached one`);
      if (r < 2) continue; // warm-ups (the first fills the cache)
      const s = samples.get(route) ?? { cold: [], warm: [], bytes: c.text.length };
      s.cold.push(c.ms);
      s.warm.push(w.ms);
      samples.set(route, s);
    }
  }
  const rows = [...samples].map(([route, s]) => {
    const c = percentile(s.cold, 50);
    const w = percentile(s.warm, 50);
    return [route, fmtMs(c), fmtMs(w), `${(c / w).toFixed(2)}×`, `${(s.bytes / 1024).toFixed(0)} kB`];
  });
  process.stdout.write(
    `${table(["route (page 1, 30 days)", "cold p50", "warm p50", "cold / warm", "answer"], rows)}\n`,
  );
  process.stdout.write(`cache: ${JSON.stringify(dailyPageCache(warm.db)?.stats)}\n`);
} finally {
  await sCold.close();
  await sWarm.close();
  await cold.close();
  await warm.close();
}
