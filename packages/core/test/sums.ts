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

export function expectSums(got: Map<string, Sums>, want: Map<string, Sums>, where: string): void {
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
