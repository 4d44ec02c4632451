/** Nearest-rank percentile of samples in ms. */
export function percentile(samples: number[], p: number): number {
  if (!samples.length) return Number.NaN;
  const s = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1]!;
}

export const fmtMs = (ms: number): string =>
  Number.isNaN(ms)
    ? "–"
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : ms >= 10
        ? `${ms.toFixed(0)} ms`
        : `${ms.toFixed(1)} ms`;

/** A fixed-width text table (also valid Markdown). */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(" | ")} |`;
  return [line(head), `|${w.map((n) => "-".repeat(n + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/**
 * The common arguments of the in-process profiles (dailyProfile.ts, pageCacheProfile.ts): DATABASE_URL,
 * `--rounds N`, and the 30-day window ending today (UTC days) that they time.
 */
export function profileArgs(defaultRounds: number): {
  url: string;
  rounds: number;
  start: string;
  end: string;
} {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is required");
  const argv = process.argv.slice(2);
  const rounds = Number(argv[argv.indexOf("--rounds") + 1] ?? defaultRounds) || defaultRounds;
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return { url, rounds, end: day(new Date()), start: day(new Date(Date.now() - 29 * 86_400_000)) };
}
