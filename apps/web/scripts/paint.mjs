// First meaningful paint of the dashboard's overview, measured in headless Chromium against a running
// spendlens server (any database): `node apps/web/scripts/paint.mjs --url http://127.0.0.1:4000 --key sk-…
// [--runs 7] [--tz UTC] [--path /]`.
//
// Each run is a fresh browser context (no HTTP cache, no sessionStorage) opening `<path>#key=<key>` with
// the default view (the last 30 days in the context's zone). Recorded from navigation start
// (performance.now() in the page):
//   - fcp: the first contentful paint (the shell);
//   - totals: the overview's totals rendered (its panel's data-state turns "ready": the numbers are on
//     screen) — the first meaningful paint;
//   - settled: every panel of the page out of "loading".
// Prints one JSON line per run and the medians.
import { chromium } from "playwright-core";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const url = arg("url", "http://127.0.0.1:4000");
const key = arg("key", process.env.SPENDLENS_MASTER_KEY);
const runs = Number(arg("runs", "7"));
const tz = arg("tz", "UTC");
const path = arg("path", "/");
const ready = arg("ready", "totals");
if (!key) throw new Error("--key (or SPENDLENS_MASTER_KEY) is required");

const browser = await chromium.launch({
  executablePath: process.env.SPENDLENS_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
  ],
});
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const out = [];
try {
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext({
      timezoneId: tz,
      locale: "en-US",
      viewport: { width: 1360, height: 900 },
    });
    await ctx.addInitScript((readyId) => {
      const marks = {};
      window.__marks = marks;
      const check = () => {
        const t = performance.now();
        if (
          marks.totals === undefined &&
          document.querySelector(`[data-testid="${readyId}"][data-state="ready"]`)
        )
          marks.totals = t;
        const panels = document.querySelectorAll("[data-state]");
        if (
          marks.settled === undefined &&
          panels.length > 0 &&
          document.querySelectorAll('[data-state="loading"]').length === 0
        )
          marks.settled = t;
      };
      new MutationObserver(check).observe(document, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ["data-state"],
      });
    }, ready);
    const page = await ctx.newPage();
    page.setDefaultTimeout(120_000);
    await page.goto(`${url}${path}#key=${key}`);
    await page.waitForFunction(
      () => window.__marks?.totals !== undefined && window.__marks?.settled !== undefined,
    );
    const r = await page.evaluate(() => ({
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
      totals: window.__marks.totals,
      settled: window.__marks.settled,
      errors: document.querySelectorAll('[data-state="error"]').length,
      totalRequests:
        document.querySelector("[data-testid=total-requests]")?.getAttribute("data-value") ?? null,
    }));
    const row = {
      run: i + 1,
      ...Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? Math.round(v) : v]),
      ),
    };
    out.push(row);
    console.log(JSON.stringify(row));
    await ctx.close();
  }
} finally {
  await browser.close();
}
console.log(
  JSON.stringify({
    tz,
    runs,
    p50_fcp_ms: median(out.map((r) => r.fcp)),
    p50_totals_ms: median(out.map((r) => r.totals)),
    p50_settled_ms: median(out.map((r) => r.settled)),
    min_totals_ms: Math.min(...out.map((r) => r.totals)),
    max_totals_ms: Math.max(...out.map((r) => r.totals)),
  }),
);
