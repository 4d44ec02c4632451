import { describe, expect, it } from "vitest";
import { errorLogRowSchema, spendLogRowSchema } from "../src/ingest/rows.ts";
import {
  checkErrorLogRow,
  checkSpendLogRow,
  fastErrorLogRow,
  fastSpendLogRow,
} from "../src/ingest/validate.ts";
import { hashToken, prng as rng } from "../src/internal.ts";

/**
 * The ingest path's fast row checks (`fastSpendLogRow`, `fastErrorLogRow`) agree with zod on random rows
 * of valid and hostile field values. No database: one engine (vitest.shared.ts `noDb`); the path they
 * feed is ingestFast.test.ts.
 */

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

// ---------------------------------------------------------------------------------------------------
describe("fast row checks", () => {
  /** Values per field: valid ones, and values zod refuses or treats specially. */
  const SPEND_FIELDS: Record<string, unknown[]> = {
    request_id: ["r-1", "x".repeat(255), "", "x".repeat(256), 7, null, undefined],
    call_type: ["acompletion", undefined, null, 3, "c".repeat(256)],
    api_key: ["sk-live-1", "abc123", "", undefined, null, 5],
    spend: [0, 0.5, 1e-9, 12.25, -0, -1, Number.NaN, Number.POSITIVE_INFINITY, "1", null, undefined],
    total_tokens: [0, 15, 2_147_483_647, 2_147_483_648, -1, 1.5, null, undefined, "3"],
    prompt_tokens: [0, 10, undefined, null, -3, 2.5],
    completion_tokens: [0, 5, undefined, null, 1e12],
    startTime: [
      "2026-03-02T10:00:00.000Z",
      "2026-03-02T10:00:00Z",
      "2026-03-02 10:00:00",
      "2026-03-02T12:00:00+02:00",
      "2026-03-02T10:00:00.123456Z",
      "2026-02-30T00:00:00Z",
      "yesterday",
      "2026-13-01T00:00:00.000Z",
      "2026-03-02T24:00:00.000Z",
      undefined,
      null,
      1700000000,
    ],
    endTime: ["2026-03-02T10:00:05.000Z", "2026-03-02T11:00:05+01:00", undefined, null, "soon"],
    completionStartTime: ["2026-03-02T10:00:01.000Z", null, undefined, "x"],
    model: ["gpt-4o", "", undefined, null, 4],
    model_id: ["dep-1", "", null, undefined, 9],
    model_group: ["g", null, undefined],
    custom_llm_provider: ["openai", null, undefined, false],
    api_base: ["https://x", null, undefined, "b".repeat(10_001)],
    user: ["u0", "", null, undefined, {}],
    metadata: [{ a: 1 }, {}, { n: { x: [1, 2] } }, null, undefined, [], "x", 3, Object.create(null)],
    cache_hit: [true, false, "True", "", null, undefined, 1, "c".repeat(65)],
    cache_key: ["k", null, undefined],
    request_tags: [["a", "b"], [], null, undefined, "a", [1], ["x".repeat(1001)], { a: 1 }],
    team_id: ["t0", null, undefined, 5],
    organization_id: ["o", null, undefined],
    end_user: ["e", "", null, undefined, []],
    requester_ip_address: ["1.2.3.4", null, undefined],
    session_id: ["s", null, undefined],
    status: ["success", null, undefined, 0],
    messages: [undefined, null, [{ role: "user", content: "hi" }], "text", 5, { a: null }],
    response: [undefined, null, { id: "x" }, []],
    extra_field: [undefined, "ignored"],
  };
  const ERROR_FIELDS: Record<string, unknown[]> = {
    request_id: ["e-1", "", 3, undefined],
    startTime: ["2026-03-02T10:00:00.000Z", "2026-03-02 10:00", "bad", undefined],
    endTime: [undefined, "2026-03-02T10:00:01.000Z", null],
    api_base: ["https://x", undefined, null],
    model_group: ["g", undefined, 3],
    litellm_model_name: ["m", undefined],
    model_id: ["d", undefined, null],
    request_kwargs: [undefined, {}, { a: [1] }, null, []],
    exception_type: ["RateLimitError", undefined],
    exception_string: ["boom", undefined, 1],
    status_code: [429, "429", "", undefined, 1.5, "x".repeat(17), 2 ** 60, null],
  };

  /** zod's output with the jsonb columns parsed, as the wire row has them. */
  const zodWire = (data: Record<string, unknown>, json: string[]) => {
    const o: Record<string, unknown> = { ...data };
    for (const k of json) if (typeof o[k] === "string") o[k] = JSON.parse(o[k] as string);
    return o;
  };
  /** JSON round trip: what reaches Postgres (undefined dropped, -0 as 0). */
  const wire = (v: unknown) => JSON.parse(JSON.stringify(v));

  function randomRow(r: () => number, fields: Record<string, unknown[]>, validBias: number) {
    const row: Record<string, unknown> = {};
    for (const [k, vs] of Object.entries(fields)) {
      const v = r() < validBias ? vs[0] : pick(r, vs);
      if (v !== undefined) row[k] = v;
    }
    return row;
  }

  for (const [name, fields, fast, schema, check, json] of [
    [
      "spend logs",
      SPEND_FIELDS,
      fastSpendLogRow,
      spendLogRowSchema,
      checkSpendLogRow,
      ["metadata", "request_tags", "messages", "response"],
    ],
    ["error logs", ERROR_FIELDS, fastErrorLogRow, errorLogRowSchema, checkErrorLogRow, ["request_kwargs"]],
  ] as const) {
    it(`${name}: where the fast check accepts a row, zod accepts it with the same values; otherwise zod's error is reported`, () => {
      const r = rng(name.length * 7919);
      let fastAccepted = 0;
      let zodOnlyAccepted = 0;
      let refused = 0;
      for (let n = 0; n < 6000; n++) {
        const raw = randomRow(r, fields as Record<string, unknown[]>, n % 3 === 0 ? 0.97 : 0.6);
        const f = (fast as (x: Record<string, unknown>) => Record<string, unknown> | null)(raw);
        const z = (schema as typeof spendLogRowSchema).safeParse(raw);
        const c = (check as typeof checkSpendLogRow)(raw);
        if (f) {
          fastAccepted++;
          expect(z.success).toBe(true);
          expect(wire(f)).toEqual(wire(zodWire(z.data as Record<string, unknown>, [...json])));
          expect(c).toEqual({ ok: true, row: f });
        } else if (z.success) {
          zodOnlyAccepted++;
          expect(c.ok).toBe(true);
          expect(wire((c as { row: unknown }).row)).toEqual(
            wire(zodWire(z.data as Record<string, unknown>, [...json])),
          );
        } else {
          refused++;
          const issue = z.error.issues[0]!;
          const field = issue.path.map(String).join(".") || null;
          expect(c).toEqual({ ok: false, field, reason: `${field ?? "row"}: ${issue.message}` });
        }
      }
      // Both paths are exercised, and the fast path takes the usual rows.
      expect(fastAccepted).toBeGreaterThan(1500);
      expect(refused).toBeGreaterThan(1000);
      expect(zodOnlyAccepted).toBeLessThan(fastAccepted);
    });
  }

  it("hashes raw sk- keys and fills LiteLLM's defaults in one pass", () => {
    const row = fastSpendLogRow({ request_id: "r", api_key: "sk-abc", startTime: "2026-03-02 10:00:00" });
    expect(row).toMatchObject({
      api_key: hashToken("sk-abc"),
      spend: 0,
      total_tokens: 0,
      startTime: "2026-03-02T10:00:00.000Z",
      endTime: "2026-03-02T10:00:00.000Z",
      metadata: {},
      request_tags: [],
      messages: {},
      response: {},
      cache_hit: "",
      team_id: null,
      model_id: "",
    });
  });
});
