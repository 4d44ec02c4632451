import v8 from "node:v8";

/**
 * The server's memory policy (peak RSS ≤ 300 MB through the whole bench). Big answers are
 * streamed, so what is alive at any time is small (~25 MB of heap), but V8 lets the old generation
 * grow to several times the live heap before it collects (its growing factor goes up to 4): streaming
 * 10 MB answers back to back then held ~100 MB of garbage. A growing factor of 1.2 collects it while
 * it is small: measured on the 1M-log report calls, peak RSS 219 MiB instead of 289 MiB, for the same
 * time within noise. SPENDLENS_HEAP_GROWING_PERCENT overrides it (0: V8's default).
 */
export function limitHeapGrowth(percent = Number(process.env.SPENDLENS_HEAP_GROWING_PERCENT ?? 20)): void {
  if (Number.isInteger(percent) && percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
