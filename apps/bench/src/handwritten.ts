import { Temporal } from "@js-temporal/polyfill";
import { buildWorld, generateLogs, spendLogRowSchema } from "@spendlens/core/demo";
import { JSONParser } from "@streamparser/json";
import { type BucketUnit, bucketsFor } from "../../../packages/core/src/analytics/zones.ts";
import { checkSpendLogRow } from "../../../packages/core/src/ingest/validate.ts";
import { jsonArrayElements } from "../../cli/src/stream.ts";

/**
 * Hand-written code against the maintained library that would replace it, measured side by side in one
 * process, interleaved (A, B, A, B…), best of the rounds (the machine is shared):
 *   (a) the CLI's JSON array splitter (cli/src/stream.ts jsonArrayElements) vs @streamparser/json, and vs
 *       NDJSON on the wire (split on newlines + JSON.parse), on a big streamed answer;
 *   (b) the zone/bucket arithmetic (core analytics/zones.ts, Intl only) vs @js-temporal/polyfill: the same
 *       buckets across DST edges, and the time to make them;
 *   (c) the ingest fast-path row check (core ingest/validate.ts) vs zod 4's safeParse of the row schema.
 *
 *   npx tsx apps/bench/src/handwritten.ts
 */
const ROUNDS = 5;

function best(label: string, fns: Record<string, () => number>) {
  const times: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++)
    for (const [k, f] of Object.entries(fns)) {
      const t = performance.now();
      const n = f();
      times[k] = [...(times[k] ?? []), (performance.now() - t) / n];
    }
  for (const [k, v] of Object.entries(times)) {
    const ms = Math.min(...v);
    console.log(
      `${label} ${k}: ${(1000 / ms).toFixed(0)} rows/s (best of ${ROUNDS}: ${(ms * 1000).toFixed(2)} µs/row)`,
    );
  }
}

// (c) 10k-row ingest bodies, as the ingest route gets them (JSON parsed).
const world = buildWorld({ seed: 3 });
const body = JSON.parse(
  JSON.stringify(
    [...generateLogs(world, 10_000, { seed: 3, days: 30 })].map(({ log }) => ({
      ...log,
      metadata: JSON.parse(log.metadata),
      request_tags: JSON.parse(log.request_tags),
    })),
  ),
) as unknown[];
let okFast = 0;
let okZod = 0;
best("(c) 10k-row body,", {
  "hand-written fast path (checkSpendLogRow)": () => {
    okFast = 0;
    for (const r of body) if (checkSpendLogRow(r).ok) okFast++;
    return body.length;
  },
  "zod 4 safeParse (spendLogRowSchema)": () => {
    okZod = 0;
    for (const r of body) if (spendLogRowSchema.safeParse(r).success) okZod++;
    return body.length;
  },
});
console.log(`(c) rows accepted: fast path ${okFast}, zod ${okZod} of ${body.length}`);

// (a) A big streamed answer: 200k log rows as the REST route streams them, in 64 KiB chunks.
const N = 200_000;
const rows = [...generateLogs(world, N, { seed: 4, days: 30 })].map(({ log }) => log);
const arrayText = Buffer.from(`[${rows.map((r) => JSON.stringify(r)).join(",")}]`);
const ndjsonText = Buffer.from(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
const chunks = (b: Buffer) => {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 65536) out.push(b.subarray(i, i + 65536));
  return out;
};
const arrayChunks = chunks(arrayText);
const ndChunks = chunks(ndjsonText);
async function* feed(cs: Buffer[]) {
  for (const c of cs) yield c;
}
let peakHeap = 0;
const sample = (n: number) => {
  if (n % 10_000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
const parsers: Record<string, () => Promise<number>> = {
  "hand-written splitter (jsonArrayElements)": async () => {
    let n = 0;
    for await (const _ of jsonArrayElements(feed(arrayChunks))) sample(++n);
    return n;
  },
  "@streamparser/json (paths $.*)": async () => {
    let n = 0;
    const p = new JSONParser({ paths: ["$.*"], keepStack: false });
    p.onValue = () => sample(++n);
    for (const c of arrayChunks) p.write(c);
    return n;
  },
  "NDJSON on the wire (lines + JSON.parse)": async () => {
    let n = 0;
    const dec = new TextDecoder();
    let rest = "";
    for (const c of ndChunks) {
      const t = rest + dec.decode(c, { stream: true });
      let from = 0;
      for (let i = t.indexOf("\n"); i >= 0; i = t.indexOf("\n", from)) {
        JSON.parse(t.slice(from, i));
        sample(++n);
        from = i + 1;
      }
      rest = t.slice(from);
    }
    return n;
  },
};
const aTimes: Record<string, number[]> = {};
const aHeap: Record<string, number> = {};
for (let r = 0; r < ROUNDS; r++)
  for (const [k, f] of Object.entries(parsers)) {
    (globalThis as { gc?: () => void }).gc?.();
    peakHeap = 0;
    const base = process.memoryUsage().heapUsed;
    const t = performance.now();
    const n = await f();
    if (n !== N) throw new Error(`${k}: ${n} elements, not ${N}`);
    aTimes[k] = [...(aTimes[k] ?? []), performance.now() - t];
    aHeap[k] = Math.max(aHeap[k] ?? 0, peakHeap - base);
  }
for (const [k, v] of Object.entries(aTimes)) {
  const ms = Math.min(...v);
  console.log(
    `(a) ${(arrayText.length / 1048576).toFixed(0)} MiB answer, ${N} rows, ${k}: ${(arrayText.length / 1048576 / (ms / 1000)).toFixed(1)} MiB/s, ${(N / (ms / 1000)).toFixed(0)} rows/s (best of ${ROUNDS}), heap above the start at most ${(aHeap[k]! / 1048576).toFixed(1)} MiB`,
  );
}

// (b) Buckets across DST edges in zones with odd rules, both ways; then the time to make a year of them.
const zoneCases: [string, BucketUnit, string, string][] = [];
for (const tz of [
  "Europe/Paris",
  "America/New_York",
  "America/Santiago", // DST at midnight (skipped and repeated midnights)
  "America/Havana", // DST at midnight
  "Asia/Kathmandu", // +05:45
  "Australia/Lord_Howe", // 30-minute DST
  "Pacific/Apia", // 2011-12-30 skipped
  "Asia/Kolkata",
  "UTC",
])
  for (const unit of ["hour", "day", "week", "month"] as BucketUnit[]) {
    zoneCases.push([tz, unit, "2011-01-01T00:00:00Z", "2012-01-02T00:00:00Z"]);
    zoneCases.push([tz, unit, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"]);
  }

/** The same buckets through Temporal: a local day's start is PlainDate.toZonedDateTime (Temporal's start of day). */
function temporalBuckets(unit: BucketUnit, tz: string, from: number, to: number) {
  const out: { start: number; label: string }[] = [];
  const z0 = Temporal.Instant.fromEpochMilliseconds(from).toZonedDateTimeISO(tz);
  if (unit === "hour") {
    let t = z0.round({ smallestUnit: "hour", roundingMode: "floor" });
    // A whole local hour: the wall clock's minutes and seconds are 0.
    while (t.minute !== 0)
      t = t.subtract({ minutes: 15 }).round({ smallestUnit: "minute", roundingMode: "floor" });
    for (;;) {
      const ms = t.epochMilliseconds;
      if (out.length && ms >= to) break;
      out.push({ start: ms, label: t.toString({ timeZoneName: "never", smallestUnit: "second" }) });
      let next = t.add({ hours: 1 });
      while (next.minute !== 0) next = next.subtract({ minutes: 15 });
      if (next.epochMilliseconds <= ms) {
        next = t.add({ minutes: 15 });
        while (next.minute !== 0) next = next.add({ minutes: 15 });
      }
      t = next;
    }
    return out;
  }
  let day = z0.toPlainDate();
  if (unit === "week") day = day.subtract({ days: day.dayOfWeek - 1 });
  if (unit === "month") day = day.with({ day: 1 });
  for (;;) {
    const start = day.toZonedDateTime({ timeZone: tz }).epochMilliseconds;
    if (start >= to && out.length) break;
    out.push({ start, label: day.toString() });
    day = day.add(unit === "day" ? { days: 1 } : unit === "week" ? { weeks: 1 } : { months: 1 });
  }
  if (out[0]!.start > from) out[0]!.start = from;
  return out;
}

let same = 0;
const diffs: string[] = [];
let tHand = Number.POSITIVE_INFINITY;
let tTemporal = Number.POSITIVE_INFINITY;
let buckets = 0;
for (let r = 0; r < 3; r++) {
  let a = 0;
  let b = 0;
  buckets = 0;
  for (const [tz, unit, f, t] of zoneCases) {
    const from = Date.parse(f);
    const to = Date.parse(t);
    let s = performance.now();
    const hand = bucketsFor(unit, tz, from, to);
    a += performance.now() - s;
    s = performance.now();
    const temp = temporalBuckets(unit, tz, from, to);
    b += performance.now() - s;
    buckets += hand.length;
    if (r === 0) {
      if (JSON.stringify(hand) === JSON.stringify(temp)) same++;
      else {
        const i = hand.findIndex((x, j) => JSON.stringify(x) !== JSON.stringify(temp[j]));
        diffs.push(
          `${tz} ${unit} ${f.slice(0, 4)}: #${i} ${JSON.stringify(hand[i])} vs ${JSON.stringify(temp[i])} (${hand.length} vs ${temp.length})`,
        );
      }
    }
  }
  tHand = Math.min(tHand, a);
  tTemporal = Math.min(tTemporal, b);
}
console.log(`(b) ${zoneCases.length} cases (zone × unit × year), ${buckets} buckets: identical in ${same}`);
for (const d of diffs) console.log(`(b)   differs: ${d}`);
console.log(
  `(b) time for all cases (best of 3): hand-written ${tHand.toFixed(0)} ms, Temporal polyfill ${tTemporal.toFixed(0)} ms`,
);
