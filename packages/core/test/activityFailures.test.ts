import { describe, expect, it } from "vitest";
import { ALL, activityFailures, activityFailuresInput, prng, userScope } from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog } from "../src/testing/index.ts";

/** GET /spendlens/activity/failures: every row equals a brute-force count over the logs written. */

const rnd = prng(21);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const logs = Array.from({ length: 800 }, (_, i) =>
  makeLog({
    request_id: `af-${i}`,
    startTime: new Date(
      Date.parse("2026-04-28T00:00:00Z") + Math.floor(rnd() * 6 * 86_400_000),
    ).toISOString(),
    user: pick(["alice", "bob"]),
    model_group: pick(["gpt-4o", "claude", ""]),
    model: pick(["azure/gpt-4o", "openai/gpt-4o", "anthropic/claude"]),
    status: pick(["success", "failure", null]) as string,
  }),
);

const t = useTestDb({ setup: (t) => insertLogs(t.db, logs) });

function brute(user: string | null, from: string, to: string) {
  const m = new Map<
    string,
    { date: string; model_group: string; model: string; a: number; s: number; f: number }
  >();
  for (const l of logs) {
    const date = l.startTime.slice(0, 10);
    if (date < from || date > to || (user !== null && l.user !== user)) continue;
    const k = `${date}|${l.model_group}|${l.model}`;
    const e = m.get(k) ?? { date, model_group: l.model_group, model: l.model, a: 0, s: 0, f: 0 };
    e.a++;
    if (l.status === "failure") e.f++;
    else e.s++;
    m.set(k, e);
  }
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return [...m.values()]
    .sort((x, y) => cmp(x.date, y.date) || cmp(x.model_group, y.model_group) || cmp(x.model, y.model))
    .map((e) => ({
      date: e.date,
      model_group: e.model_group,
      model: e.model,
      api_requests: e.a,
      successful_requests: e.s,
      failed_requests: e.f,
    }));
}

describe("activityFailures", () => {
  it("admins: every UTC day × model group × model of the window, equal to brute force", async () => {
    const input = activityFailuresInput.parse({ start_date: "2026-04-29", end_date: "2026-05-02" });
    const got = await activityFailures(t.db, ALL, input);
    expect(got.rows).toEqual(brute(null, "2026-04-29", "2026-05-02"));
    expect(got.rows.reduce((s, r) => s + r.failed_requests, 0)).toBeGreaterThan(0);
  });
  it("an internal user: their own logs only", async () => {
    const input = activityFailuresInput.parse({ start_date: "2026-04-28", end_date: "2026-05-03" });
    expect((await activityFailures(t.db, userScope("alice"), input)).rows).toEqual(
      brute("alice", "2026-04-28", "2026-05-03"),
    );
  });
  it("a bad range is a 400 naming the field", () => {
    const r = activityFailuresInput.safeParse({ start_date: "2026-05-02", end_date: "2026-05-01" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["end_date"]);
  });
});
