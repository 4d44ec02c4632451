import { describe, expect, it } from "vitest";
import {
  brute,
  keyedRows,
  makeAnalyticsLogs,
  writeAnalyticsLogs,
} from "../../../packages/core/test/analyticsFixtures.ts";
import { useCliDb, useCliServer } from "./harness.ts";

/** `spendlens analytics` and `spendlens logs-page` through the real binary and a server. */
const SLOW = 400_000;
const logs = makeAnalyticsLogs(200, 23);

const h = useCliDb({ setup: (t) => writeAnalyticsLogs(t.db, logs), timeout: SLOW });
const { cli } = useCliServer(h, "sk-master-cli-analytics");
const WINDOW = ["--start", "2026-03-27", "--end", "2026-03-31", "--timezone", "Europe/Paris"];

describe("spendlens analytics / logs-page", () => {
  it(
    "analytics --dims model_group,day --timezone Europe/Paris --csv equals the brute force",
    async () => {
      const r = await cli(["analytics", "--dims", "model_group,day", ...WINDOW, "--tag", "x,z", "--csv"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const [head, ...lines] = r.stdout.trim().split("\n");
      expect(head).toBe(
        "day,bucket_start,model_group,requests,spend,prompt_tokens,completion_tokens,total_tokens",
      );
      const rows = lines.map((l) => {
        const [day, bucket_start, model_group, requests, spend, p, c, tt] = l.split(",");
        return {
          day,
          bucket_start,
          model_group,
          requests: +requests!,
          spend: +spend!,
          prompt_tokens: +p!,
          completion_tokens: +c!,
          total_tokens: +tt!,
        };
      });
      // By hand: 2026-03-27 00:00 CET = 03-26 23:00Z; 2026-04-01 00:00 CEST = 03-31 22:00Z.
      const want = brute(logs, {
        dims: ["model_group"],
        bucket: "day",
        tz: "Europe/Paris",
        from: "2026-03-26T23:00:00Z",
        to: "2026-03-31T22:00:00Z",
        filters: { tag: ["x", "z"] },
      });
      const got = keyedRows(rows, ["model_group"], "day");
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, w] of want) {
        expect(got.get(k)!.requests).toBe(w.requests);
        expect(got.get(k)!.total_tokens).toBe(w.total_tokens);
        expect(got.get(k)!.spend).toBeCloseTo(w.spend, 9);
      }
      expect(rows.find((x) => x.day === "2026-03-30")?.bucket_start).toBe("2026-03-29T22:00:00.000Z");
      // A list option (derived from the input's array field) takes the flag repeated as well.
      const repeated = await cli([
        "analytics",
        "--dims",
        "model_group",
        "--dims",
        "day",
        ...WINDOW,
        "--tag",
        "x",
        "--tag",
        "z",
        "--csv",
      ]);
      expect(repeated.stderr).toBe("");
      expect(repeated.stdout).toBe(r.stdout);
    },
    SLOW,
  );

  it(
    "logs-page --json: the newest page of a model, its total and a cursor",
    async () => {
      const r = await cli([
        "--json",
        "logs-page",
        "--model",
        "mistral-large",
        "--limit",
        "4",
        "--include-total",
        "true",
      ]);
      expect(r.stderr).toBe("");
      const out = JSON.parse(r.stdout);
      const want = logs.filter((l) => l.model === "mistral-large");
      const newest = [...want].sort((a, b) => Date.parse(b.startTime) - Date.parse(a.startTime)).slice(0, 4);
      expect(out.total).toBe(want.length);
      expect(out.has_more).toBe(true);
      expect(out.data.map((x: { startTime: string }) => x.startTime)).toEqual(newest.map((l) => l.startTime));
      const [ts, id] = JSON.parse(Buffer.from(out.next_cursor, "base64url").toString());
      expect(id).toBe(out.data[3].request_id);
      expect(Date.parse(`${ts.replace(" ", "T")}Z`)).toBe(Date.parse(out.data[3].startTime));
    },
    SLOW,
  );
});
