/**
 * Spend measures summed by the rollup property tests' brute-force oracles (rollups, derivedRollups), and
 * the one comparison of a report's rows with them: same keys, exact counts, spend to 1e-9.
 */
import { expect } from "vitest";

export interface Sums {
  requests: number;
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const zeroSums = (): Sums => ({
  requests: 0,
  spend: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
});

/**
 * Whether `toBeCloseTo(want, digits)` passes for `got` (vitest's rule: equal, or |want - got| < 10^-digits / 2),
 * checked without an assertion: a property test compares tens of thousands of values, and one `expect`
 * costs ~18 µs of CPU. The comparisons below run as plain checks first and, only when one fails, again
 * as the assertions they stand for (the same checks, the same failure message).
 */
export function closeTo(got: unknown, want: number, digits: number): boolean {
  return got === want || (typeof got === "number" && Math.abs(want - got) < 10 ** -digits / 2);
}

/** Two lists of keys equal once sorted (what `expect(a.sort()).toEqual(b.sort())` checks for strings). */
export function sameKeys(got: Iterable<string>, want: Iterable<string>): boolean {
  const a = [...got].sort();
  const b = [...want].sort();
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sumsMatch(got: Map<string, Sums>, want: Map<string, Sums>): boolean {
  if (!sameKeys(got.keys(), want.keys())) return false;
  for (const [k, w] of want) {
    const g = got.get(k);
    if (
      !g ||
      !Object.is(g.requests, w.requests) ||
      !closeTo(g.spend, w.spend, 9) ||
      !Object.is(g.prompt_tokens, w.prompt_tokens) ||
      !Object.is(g.completion_tokens, w.completion_tokens) ||
      !Object.is(g.total_tokens, w.total_tokens)
    )
      return false;
  }
  return true;
}

export function expectSums(got: Map<string, Sums>, want: Map<string, Sums>, where: string): void {
  if (sumsMatch(got, want)) return;
  expect([...got.keys()].sort(), where).toEqual([...want.keys()].sort());
  for (const [k, w] of want) {
    const g = got.get(k)!;
    expect(g.requests, `${where} ${k} requests`).toBe(w.requests);
    expect(g.spend, `${where} ${k} spend`).toBeCloseTo(w.spend, 9);
    expect(g.prompt_tokens, `${where} ${k} prompt_tokens`).toBe(w.prompt_tokens);
    expect(g.completion_tokens, `${where} ${k} completion_tokens`).toBe(w.completion_tokens);
    expect(g.total_tokens, `${where} ${k} total_tokens`).toBe(w.total_tokens);
  }
}
