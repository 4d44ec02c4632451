import { readFileSync } from "node:fs";
import { hashToken, insertLogs, makeLog, setClock } from "@spendlens/core/testing";
import { sql } from "kysely";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  columnValues,
  FROM,
  MASTER,
  settled,
  signIn,
  skipBrowserTests,
  startWebHarness,
  TO,
  type WebHarness,
} from "./harness.ts";

let h: WebHarness;
const VIEW = `from=${FROM}&to=${TO}&tz=UTC`;

beforeAll(async () => {
  if (skipBrowserTests) {
    console.log(
      "dashboard browser tests SKIPPED: no Chromium at /usr/bin/chromium (apt-get install -y chromium)",
    );
    return;
  }
  h = await startWebHarness();
  // The demo's spend logs all succeed (its failures are error logs): add failed requests, a third of
  // them the internal user's, copied from logs of the window (same key, user, team and model group).
  const pick = async (mine: boolean, n: number) =>
    (
      await sql<Record<string, unknown>>`SELECT request_id,
      to_char("startTime", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS st, api_key, "user", team_id,
      model, model_id, model_group, custom_llm_provider, api_base
    FROM "LiteLLM_SpendLogs" WHERE "startTime" >= '2026-11-01' AND "startTime" < '2026-12-01'
      AND ("user" = ${h.internal.userId}) = ${mine} ORDER BY request_id LIMIT ${n}`.execute(h.t.db)
    ).rows;
  const picked = [...(await pick(true, 30)), ...(await pick(false, 60))];
  await insertLogs(
    h.t.db,
    picked.map((r) =>
      makeLog({
        request_id: `fail-${r.request_id}`,
        startTime: r.st as string,
        api_key: r.api_key as string,
        user: r.user as string,
        team_id: (r.team_id as string | null) ?? null,
        model: r.model as string,
        model_id: r.model_id as string,
        model_group: r.model_group as string,
        custom_llm_provider: r.custom_llm_provider as string,
        api_base: r.api_base as string,
        status: "failure",
      }),
    ),
  );
});

/** Clicks a panel's CSV button and answers the file's text. */
async function csvOf(page: Page, testId: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click(`[data-testid=${testId}] header button:has-text('CSV')`),
  ]);
  return { name: download.suggestedFilename(), text: readFileSync(await download.path(), "utf8") };
}
const csvText = (columns: string[], rows: readonly object[]) => {
  const cell = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  const lines = (rows as Record<string, unknown>[]).map((r) => columns.map((c) => cell(r[c])).join(","));
  return `${[columns.join(","), ...lines].join("\r\n")}\r\n`;
};

/** Failed spend logs per UTC day of the demo window, brute force over the raw logs. */
async function rawFailuresPerDay(user?: string): Promise<Map<string, number>> {
  const r = await sql<{ day: string; n: number }>`SELECT to_char("startTime", 'YYYY-MM-DD') AS day,
      count(*)::int AS n FROM "LiteLLM_SpendLogs"
    WHERE status = 'failure' AND "startTime" >= '2026-11-01' AND "startTime" < '2026-12-01'
      AND (${user ?? null}::text IS NULL OR "user" = ${user ?? null})
    GROUP BY 1 ORDER BY 1`.execute(h.t.db);
  return new Map(r.rows.map((x) => [x.day, x.n]));
}
afterAll(async () => {
  await h?.close();
});

/** A new tab signed in with `key` at `path`, its panels loaded. */
async function signedIn(path: string, key = MASTER): Promise<Page> {
  const page = await h.page();
  await signIn(page, h.srv.url, key, path);
  await settled(page);
  return page;
}

type Row = Record<string, string | number | null> & { spend: number; requests: number; total_tokens: number };

describe.skipIf(skipBrowserTests)("the dashboard in Chromium", () => {
  it("refuses a wrong key with one message, and signs in and out with the master key", async () => {
    const page = await h.page();
    await page.goto(`${h.srv.url}/?${VIEW}`);
    await page.fill("input#key", "sk-not-a-key");
    await page.click("button[type=submit]");
    const err = page.locator("[data-testid=signin-error]");
    await err.waitFor();
    expect(await err.count()).toBe(1);
    expect(await err.textContent()).toBe("That key was not accepted: it is wrong, expired or revoked.");
    await h.shot(page, "signin-wrong-key");

    await page.fill("input#key", MASTER);
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-testid=who]");
    expect(await page.textContent("[data-testid=who]")).toBe("proxy_admin");
    await page.click("[data-testid=signout]");
    await page.waitForSelector("input#key");
    expect(await page.evaluate(() => sessionStorage.getItem("spendlens.key"))).toBeNull();
    await page.close();
  });

  it("overview: totals and top tables equal the analytics procedure's, and the raw logs' sums", async () => {
    const page = await signedIn(`/?${VIEW}`);
    expect(await page.locator('[data-state="error"]').count()).toBe(0);
    const api = await h.api();
    const window = { start: FROM, end: TO, timezone: "UTC" };
    const totals = (await api.analytics.query({ ...window, dims: [] })).rows[0] as unknown as Row;
    const attr = async (id: string) => Number(await page.getAttribute(`[data-testid=${id}]`, "data-value"));
    expect(await attr("total-spend")).toBe(totals.spend);
    expect(await attr("total-requests")).toBe(totals.requests);
    expect(await attr("total-tokens")).toBe(totals.total_tokens);

    // Independently: the raw logs of the window.
    const raw = await sql<{ spend: number; n: number; tokens: number }>`
      SELECT sum(spend)::float8 AS spend, count(*)::int AS n, sum(total_tokens)::float8 AS tokens
      FROM "LiteLLM_SpendLogs" WHERE "startTime" >= '2026-11-01T00:00:00Z' AND "startTime" < '2026-12-01T00:00:00Z'`.execute(
      h.t.db,
    );
    expect(raw.rows[0]!.n).toBeGreaterThan(1000);
    expect(await attr("total-requests")).toBe(raw.rows[0]!.n);
    expect(await attr("total-tokens")).toBe(raw.rows[0]!.tokens);
    expect(await attr("total-spend")).toBeCloseTo(raw.rows[0]!.spend, 9);

    for (const dim of ["model_group", "team", "provider"] as const) {
      const a = await api.analytics.query({ ...window, dims: [dim], order_by: "spend", limit: 10 });
      const rows = a.rows as unknown as Row[];
      expect(rows.length).toBeGreaterThan(0);
      expect(await columnValues(page, `top-${dim}-table`, dim)).toEqual(
        rows.map((r) => String(r[dim] ?? "")),
      );
      expect(await columnValues(page, `top-${dim}-table`, "spend")).toEqual(rows.map((r) => String(r.spend)));
      expect(await columnValues(page, `top-${dim}-table`, "requests")).toEqual(
        rows.map((r) => String(r.requests)),
      );
    }
    // The CSV of a table is the procedure's rows, raw numbers and all.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("[data-testid=top-model_group] header button:has-text('CSV')"),
    ]);
    expect(download.suggestedFilename()).toBe("top-model_group.csv");
    const groups = (
      await api.analytics.query({ ...window, dims: ["model_group"], order_by: "spend", limit: 10 })
    ).rows as unknown as Row[];
    const csvLines = [
      "model_group,requests,spend,prompt_tokens,completion_tokens,total_tokens",
      ...groups.map((r) =>
        [r.model_group, r.requests, r.spend, r.prompt_tokens, r.completion_tokens, r.total_tokens].join(","),
      ),
    ];
    expect(readFileSync(await download.path(), "utf8")).toBe(`${csvLines.join("\r\n")}\r\n`);
    // The spend chart is drawn and the money is formatted as dollars.
    expect(await page.locator("[data-testid=spend-chart] canvas").count()).toBe(1);
    expect(await page.textContent("[data-testid=total-spend] .stat-value")).toMatch(/^\$[\d,]+\.\d\d$/);
    await h.shot(page, "overview-admin");
    await page.close();
  });

  it("an entity page's numbers equal the analytics procedure's for that entity", async () => {
    const page = await signedIn(`/teams?${VIEW}`);
    const api = await h.api();
    const window = { start: FROM, end: TO, timezone: "UTC" };
    const list = (await api.analytics.query({ ...window, dims: ["team"], order_by: "spend" }))
      .rows as unknown as Row[];
    expect(await columnValues(page, "entity-table", "spend")).toEqual(list.map((r) => String(r.spend)));

    const team = list.find((r) => r.team !== null)!.team as string;
    await page.click(`[data-testid=entity-table] tbody td[data-col=team][data-value="${team}"]`);
    await page.waitForSelector("[data-testid=entity-name]");
    await settled(page);
    expect(await page.getAttribute("[data-testid=entity-name]", "title")).toBe(team);
    expect(new URL(page.url()).pathname).toBe(`/teams/${team}`);
    const mine = (await api.analytics.query({ ...window, team: [team], dims: [] })).rows[0] as unknown as Row;
    const attr = async (id: string) =>
      Number(await page.getAttribute(`[data-testid=entity-totals] [data-testid=${id}]`, "data-value"));
    expect(await attr("total-spend")).toBe(mine.spend);
    expect(await attr("total-requests")).toBe(mine.requests);
    const byModel = (
      await api.analytics.query({
        ...window,
        team: [team],
        dims: ["model_group"],
        order_by: "spend",
        limit: 50,
      })
    ).rows as unknown as Row[];
    const shown = await page.$$eval("[data-testid=by-model_group] tbody td[data-col=spend]", (tds) =>
      tds.map((td) => td.getAttribute("data-value")),
    );
    expect(shown).toEqual(byModel.slice(0, 10).map((r) => String(r.spend)));
    // Its latest logs are all this team's.
    const teams = await page.$$eval("[data-testid=entity-logs] tbody td[data-col=team_id]", (tds) =>
      tds.map((td) => td.getAttribute("data-value")),
    );
    expect(teams.length).toBeGreaterThan(0);
    expect(new Set(teams)).toEqual(new Set([team]));
    await h.shot(page, "team-page");

    // Every key of the window in one list, named by alias from one spend.spendKeys call.
    await page.goto(`${h.srv.url}/keys?${VIEW}`);
    await settled(page);
    const keys = (await api.analytics.query({ ...window, dims: ["api_key"], order_by: "spend" }))
      .rows as unknown as Row[];
    expect(keys.length).toBeGreaterThan(100);
    expect(await columnValues(page, "entity-table", "api_key")).toEqual(keys.map((r) => String(r.api_key)));
    const aliases = new Map((await api.spend.spendKeys()).map((k) => [k.token, k.key_alias]));
    const shownNames = await page.$$eval("[data-testid=entity-table] tbody td[data-col=api_key]", (tds) =>
      tds.slice(0, 5).map((td) => td.textContent),
    );
    expect(shownNames).toEqual(keys.slice(0, 5).map((r) => aliases.get(String(r.api_key))));
    await page.close();
  });

  it("the logs explorer pages by cursor, filters, and opens a log's detail", async () => {
    const page = await signedIn(`/logs?${VIEW}`);
    const api = await h.api();
    const window = { start_date: "2026-11-01 00:00:00", end_date: "2026-11-30 23:59:59.999999" };
    const first = await api.logs.page({ ...window, limit: 50, include_total: true });
    expect(Number(await page.getAttribute("[data-testid=logs-total]", "data-value"))).toBe(first.total);
    expect(await columnValues(page, "logs-table", "request_id")).toEqual(first.data.map((r) => r.request_id));

    await page.click("[data-testid=next-page]");
    await settled(page);
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=page-number]")?.textContent?.startsWith("Page 2"),
    );
    const second = await api.logs.page({ ...window, limit: 50, cursor: first.next_cursor! });
    expect(await columnValues(page, "logs-table", "request_id")).toEqual(
      second.data.map((r) => r.request_id),
    );
    await page.click("[data-testid=prev-page]");
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=page-number]")?.textContent?.startsWith("Page 1"),
    );
    await settled(page);
    expect(await columnValues(page, "logs-table", "request_id")).toEqual(first.data.map((r) => r.request_id));

    // Filter by team and model: every row matches, and the total is the procedure's.
    const { team_id, model } = first.data.find((r) => r.team_id)!;
    await page.fill("input[name=team_id]", team_id!);
    await page.fill("input[name=model]", model);
    await page.click("[data-testid=log-filters] button[type=submit]");
    await page.waitForURL(/team_id=/);
    await settled(page);
    const filtered = await api.logs.page({
      ...window,
      team_id: team_id!,
      model,
      limit: 50,
      include_total: true,
    });
    expect(Number(await page.getAttribute("[data-testid=logs-total]", "data-value"))).toBe(filtered.total);
    expect(new Set(await columnValues(page, "logs-table", "team_id"))).toEqual(new Set([team_id]));
    expect(new Set(await columnValues(page, "logs-table", "model"))).toEqual(new Set([model]));
    await h.shot(page, "logs");

    const id = filtered.data[0]!.request_id;
    await page.click(`[data-testid=logs-table] tbody td[data-col=request_id][data-value="${id}"]`);
    await page.waitForSelector("[data-testid=log-detail] dd[data-field=request_id]");
    await settled(page);
    expect(await page.textContent("[data-testid=log-detail] dd[data-field=request_id]")).toBe(id);
    expect(await page.textContent("[data-testid=log-metadata]")).toBe(
      JSON.stringify(filtered.data[0]!.metadata, null, 2),
    );
    await h.shot(page, "log-detail");

    // A phone-sized screen: nothing wider than the screen (the table scrolls inside its panel).
    await page.click("[data-testid=close-detail]");
    await page.setViewportSize({ width: 390, height: 844 });
    await settled(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await h.shot(page, "logs-narrow");
    await page.close();
  });

  it("an internal user sees only their own rows, and no 403 panel anywhere", async () => {
    const page = await h.page();
    const { key, userId } = h.internal;
    await signIn(page, h.srv.url, key, `/?${VIEW}`);
    expect(await page.textContent("[data-testid=who]")).toContain(`internal_user · ${userId}`);
    const own = await h.api(key);
    const window = { start: FROM, end: TO, timezone: "UTC" };
    for (const path of [
      "/",
      "/logs",
      "/teams",
      "/keys",
      "/users",
      "/customers",
      "/tags",
      "/models",
      "/activity",
      "/budgets",
    ]) {
      await page.goto(`${h.srv.url}${path}?${VIEW}`);
      await page.waitForSelector("[data-testid=who]");
      await settled(page);
      const errors = await page.locator('[data-state="error"]').allTextContents();
      expect(errors, path).toEqual([]);
      expect(await page.locator("text=403").count(), path).toBe(0);
      if (path === "/") await h.shot(page, "overview-internal-user");
      if (path === "/users") {
        expect(await columnValues(page, "entity-table", "user")).toEqual([userId]);
      }
      if (path === "/logs") {
        const users = await columnValues(page, "logs-table", "user");
        expect(users.length).toBeGreaterThan(0);
        expect(new Set(users)).toEqual(new Set([userId]));
        // The user filter is not offered: the procedures scope to the caller anyway.
        expect(await page.locator("input[name=user_id]").count()).toBe(0);
        await h.shot(page, "logs-internal-user");
      }
    }
    const mine = (await own.analytics.query({ ...window, dims: [] })).rows[0] as unknown as Row;
    await page.goto(`${h.srv.url}/?${VIEW}`);
    await settled(page);
    expect(Number(await page.getAttribute("[data-testid=total-spend]", "data-value"))).toBe(mine.spend);
    const all = (await (await h.api()).analytics.query({ ...window, dims: [] })).rows[0] as unknown as Row;
    expect(mine.requests).toBeLessThan(all.requests);
    await page.close();
  });

  it("a time zone change moves the day boundaries as the analytics procedure does", async () => {
    const page = await signedIn(`/activity?${VIEW}`);
    const api = await h.api();
    const perDay = async (timezone: string) =>
      (
        (await api.analytics.query({ start: FROM, end: TO, timezone, dims: ["day"] }))
          .rows as unknown as Row[]
      ).map((r) => [String(r.day), String(r.requests), String(r.spend)]);
    const shown = async () => {
      const days = await columnValues(page, "daily-table", "day");
      const req = await columnValues(page, "daily-table", "requests");
      const spend = await columnValues(page, "daily-table", "spend");
      return days.map((d, i) => [d, req[i], spend[i]]);
    };
    const utc = await perDay("UTC");
    expect(await shown()).toEqual(utc);
    await page.selectOption("select[name=tz]", "Asia/Kolkata");
    await page.waitForURL(/tz=Asia%2FKolkata/);
    await settled(page);
    const kolkata = await perDay("Asia/Kolkata");
    expect(kolkata).not.toEqual(utc);
    expect(await shown()).toEqual(kolkata);
    await h.shot(page, "activity-kolkata");
    await page.close();
  });

  it("a key revoked while signed in goes back to the sign-in form with one message", async () => {
    const raw = h.internal.key === "sk-demo-1999" ? "sk-demo-1998" : "sk-demo-1999";
    const page = await signedIn(`/?${VIEW}`, raw);
    await h.t.db.deleteFrom("LiteLLM_VerificationToken").where("token", "=", hashToken(raw)).execute();
    await page.click("nav a:has-text('Activity')");
    const err = page.locator("[data-testid=signin-error]");
    await err.waitFor();
    expect(await err.allTextContents()).toEqual([
      "That key was not accepted: it is wrong, expired or revoked.",
    ]);
    expect(await page.evaluate(() => sessionStorage.getItem("spendlens.key"))).toBeNull();
    await page.close();
  });

  it("a range without logs shows empty panels, not errors", async () => {
    const page = await signedIn("/?from=2020-01-01&to=2020-01-31&tz=UTC");
    expect(await page.locator('[data-state="error"]').count()).toBe(0);
    expect(await page.getAttribute("[data-testid=spend-per-day]", "data-state")).toBe("empty");
    expect(await page.getAttribute("[data-testid=top-api_key]", "data-state")).toBe("empty");
    expect(Number(await page.getAttribute("[data-testid=total-requests]", "data-value"))).toBe(0);
    expect(await page.textContent("[data-testid=total-spend] .stat-value")).toBe("$0.00");
    await page.goto(`${h.srv.url}/logs?from=2020-01-01&to=2020-01-31&tz=UTC`);
    await settled(page);
    expect(await page.getAttribute("[data-testid=logs]", "data-state")).toBe("empty");
    await page.close();
  });

  it("budgets: keys, users, teams and providers from budgets.budgetStatus, with burn rate and run-out", async () => {
    const page = await h.page();
    // The demo data has no key, user or team budgets: give one key, one user and one team a max_budget.
    const team = (
      await h.t.db
        .selectFrom("LiteLLM_VerificationToken")
        .select("team_id")
        .where("token", "=", hashToken(h.internal.key))
        .executeTakeFirstOrThrow()
    ).team_id!;
    await h.t.db
      .updateTable("LiteLLM_VerificationToken")
      .set({ max_budget: 10, budget_duration: "30d", budget_reset_at: "2026-12-10T00:00:00.000Z" })
      .where("token", "=", hashToken(h.internal.key))
      .execute();
    await h.t.db
      .updateTable("LiteLLM_UserTable")
      .set({ max_budget: 2.5 })
      .where("user_id", "=", h.internal.userId)
      .execute();
    await h.t.db
      .updateTable("LiteLLM_TeamTable")
      .set({ max_budget: 40, budget_duration: "7d", budget_reset_at: "2026-12-03T00:00:00.000Z" })
      .where("team_id", "=", team)
      .execute();
    // The clock at the demo's last day, so the last 7 days have spend (a burn rate) and the projections
    // land inside the windows; the server runs in this process and reads the same clock.
    setClock(() => new Date("2026-11-30T20:00:00.000Z"));
    try {
      await signIn(page, h.srv.url, MASTER, `/budgets?${VIEW}`);
      await settled(page);
      expect(await page.locator('[data-state="error"]').count()).toBe(0);
      const all = (await (await h.api()).budgets.budgetStatus()).budgets;
      for (const type of ["key", "user", "team", "provider"] as const) {
        const want = all
          .filter((b) => b.entity_type === type)
          .sort((a, b) => (b.percent_used ?? -1) - (a.percent_used ?? -1));
        expect(want.length, type).toBeGreaterThan(0);
        const t = `budgets-${type}-table`;
        expect(new Set(await columnValues(page, t, "entity_id")), type).toEqual(
          new Set(want.map((b) => b.entity_id)),
        );
        const ids = await columnValues(page, t, "entity_id");
        const byId = new Map(want.map((b) => [b.entity_id, b]));
        for (const col of [
          "spend",
          "max_budget",
          "avg_daily_spend",
          "projected_spend",
          "budget_reset_at",
        ] as const)
          expect(await columnValues(page, t, col), `${type} ${col}`).toEqual(
            ids.map((id) => String(byId.get(id)![col] ?? "")),
          );
        expect(await columnValues(page, t, "projected_exhausted_at")).toEqual(
          ids.map((id) => byId.get(id)!.projected_exhausted_at ?? ""),
        );
      }
      const key = all.find((b) => b.entity_type === "key")!;
      expect(key.avg_daily_spend).toBeGreaterThan(0);
      // Independently: the key's spend in its window [reset - 30 d, reset) and in the last 7 days.
      const raw = await sql<{ win: number; week: number }>`SELECT
          coalesce(sum(spend) FILTER (WHERE "startTime" >= '2026-11-10' AND "startTime" < '2026-12-10'), 0)::float8 AS win,
          coalesce(sum(spend) FILTER (WHERE "startTime" >= '2026-11-23T20:00:00Z' AND "startTime" < '2026-11-30T20:00:00Z'), 0)::float8 AS week
        FROM "LiteLLM_SpendLogs" WHERE api_key = ${hashToken(h.internal.key)}`.execute(h.t.db);
      expect(key.spend).toBeCloseTo(raw.rows[0]!.win, 9);
      expect(key.avg_daily_spend).toBeCloseTo(raw.rows[0]!.week / 7, 9);
      const csv = await csvOf(page, "budgets-team");
      expect(csv.name).toBe("budgets-team.csv");
      expect(csv.text.split("\r\n")[0]).toBe(
        "entity_type,entity_id,alias,user_id,team_id,organization_id,user_email,max_budget,soft_budget,budget_duration,spend,window_start,budget_reset_at,avg_daily_spend,projected_spend,projected_exhausted_at,percent_used,status",
      );
      expect(csv.text.split("\r\n").filter((l) => l !== "").length).toBe(
        1 + all.filter((b) => b.entity_type === "team").length,
      );
      await h.shot(page, "budgets");

      // An internal user: their own key and user budget only; no team or provider budget.
      await page.evaluate(() => sessionStorage.clear());
      await signIn(page, h.srv.url, h.internal.key, `/budgets?${VIEW}`);
      await settled(page);
      expect(await page.locator('[data-state="error"]').count()).toBe(0);
      const own = (await (await h.api(h.internal.key)).budgets.budgetStatus()).budgets;
      expect(new Set(await columnValues(page, "budgets-key-table", "user_id"))).toEqual(
        new Set([h.internal.userId]),
      );
      expect(await columnValues(page, "budgets-user-table", "entity_id")).toEqual([h.internal.userId]);
      expect(new Set(await columnValues(page, "budgets-key-table", "entity_id"))).toEqual(
        new Set(own.filter((b) => b.entity_type === "key").map((b) => b.entity_id)),
      );
      expect(await page.getAttribute("[data-testid=budgets-team]", "data-state")).toBe("empty");
      expect(await page.getAttribute("[data-testid=budgets-provider]", "data-state")).toBe("empty");
    } finally {
      setClock(null);
    }
    await page.close();
  });

  it("activity: failures per UTC day by model group and model equal activity.failures, dailyActivity and the raw logs; 429s equal the activity procedures'", async () => {
    const page = await signedIn(`/activity?${VIEW}`);
    expect(await page.locator('[data-state="error"]').count()).toBe(0);
    const api = await h.api();
    const f = (await api.activity.failures({ start_date: FROM, end_date: TO })).rows;
    const perDay = new Map<string, { a: number; s: number; f: number }>();
    for (const r of f) {
      const e = perDay.get(r.date) ?? { a: 0, s: 0, f: 0 };
      e.a += r.api_requests;
      e.s += r.successful_requests;
      e.f += r.failed_requests;
      perDay.set(r.date, e);
    }
    const days = [...perDay.keys()].sort();
    expect(await columnValues(page, "failures-daily-table", "date")).toEqual(days);
    expect(await columnValues(page, "failures-daily-table", "failed_requests")).toEqual(
      days.map((x) => String(perDay.get(x)!.f)),
    );
    expect(await columnValues(page, "failures-daily-table", "api_requests")).toEqual(
      days.map((x) => String(perDay.get(x)!.a)),
    );
    // The same numbers as LiteLLM's daily-activity route, and as a count over the raw logs.
    const d = await api.dailyActivity.userAggregated({ start_date: FROM, end_date: TO });
    expect(new Map(d.results.map((r) => [r.date, r.metrics.failed_requests]))).toEqual(
      new Map(days.map((x) => [x, perDay.get(x)!.f])),
    );
    const raw = await rawFailuresPerDay();
    expect([...raw.values()].reduce((x, y) => x + y, 0)).toBe(90);
    expect(new Map(days.filter((x) => perDay.get(x)!.f > 0).map((x) => [x, perDay.get(x)!.f]))).toEqual(raw);

    // The CSV is the procedure's rows, one per day, model group and model.
    const cols = ["date", "model_group", "model", "api_requests", "successful_requests", "failed_requests"];
    const csv = await csvOf(page, "failures-by-group");
    expect(csv.name).toBe("failures-per-day.csv");
    expect(csv.text).toBe(csvText(cols, f));
    // Brute force per model group.
    const rawGroups = await sql<{ g: string; n: number }>`SELECT model_group AS g, count(*)::int AS n
      FROM "LiteLLM_SpendLogs" WHERE status = 'failure' AND "startTime" >= '2026-11-01' AND "startTime" < '2026-12-01'
      GROUP BY 1`.execute(h.t.db);
    const byGroup = new Map<string, number>();
    for (const r of f)
      if (r.failed_requests)
        byGroup.set(r.model_group, (byGroup.get(r.model_group) ?? 0) + r.failed_requests);
    expect(byGroup).toEqual(new Map(rawGroups.rows.map((x) => [x.g, x.n])));
    expect(await page.locator("[data-testid=failures-by-model-chart] canvas").count()).toBe(1);

    // 429s of the selected model group, in all and per deployment: the CSVs are the procedures' rows.
    const group = await page.inputValue("select[aria-label='Model group']");
    const input = { model_group: group, start_date: FROM, end_date: TO };
    const ex = await api.activity.globalActivityExceptions(input);
    expect(ex.sum_num_rate_limit_exceptions).toBeGreaterThan(0);
    expect((await csvOf(page, "rate-limits")).text).toBe(
      csvText(["date", "num_rate_limit_exceptions"], ex.daily_data),
    );
    const exd = await api.activity.globalActivityExceptionsDeployment(input);
    expect((await csvOf(page, "rate-limits-deployment")).text).toBe(
      csvText(
        ["api_base", "date", "num_rate_limit_exceptions"],
        exd.flatMap((x) => x.daily_data.map((y) => ({ api_base: x.api_base, ...y }))),
      ),
    );
    const raw429 = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "LiteLLM_ErrorLogs"
      WHERE model_group = ${group} AND status_code = '429' AND "startTime" >= '2026-11-01' AND "startTime" < '2026-12-01'`.execute(
      h.t.db,
    );
    expect(ex.sum_num_rate_limit_exceptions).toBe(raw429.rows[0]!.n);
    await h.shot(page, "activity-failures");

    // An internal user: their own failures only, and no 429 panels (error logs carry no user).
    await page.evaluate(() => sessionStorage.clear());
    await signIn(page, h.srv.url, h.internal.key, `/activity?${VIEW}`);
    await settled(page);
    const own = (await (await h.api(h.internal.key)).activity.failures({ start_date: FROM, end_date: TO }))
      .rows;
    const mine = new Map<string, number>();
    for (const r of own) mine.set(r.date, (mine.get(r.date) ?? 0) + r.failed_requests);
    const myDays = [...mine.keys()].sort();
    expect(await columnValues(page, "failures-daily-table", "failed_requests")).toEqual(
      myDays.map((x) => String(mine.get(x))),
    );
    const rawMine = await rawFailuresPerDay(h.internal.userId);
    expect([...rawMine.values()].reduce((x, y) => x + y, 0)).toBe(30);
    expect(new Map(myDays.filter((x) => mine.get(x)! > 0).map((x) => [x, mine.get(x)!]))).toEqual(rawMine);
    expect(await page.locator("[data-testid=rate-limits]").count()).toBe(0);
    await page.close();
  });

  it("teams are named by alias from one spend.teamList call, on the list, the entity page and the logs", async () => {
    const page = await h.page();
    const calls: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/trpc/spend.teamList")) calls.push(r.url());
    });
    await signIn(page, h.srv.url, MASTER, `/teams?${VIEW}`);
    await settled(page);
    const api = await h.api();
    const aliases = new Map((await api.spend.teamList()).teams.map((t) => [t.team_id, t.team_alias]));
    const ids = await columnValues(page, "entity-table", "team");
    expect(ids.length).toBeGreaterThan(3);
    const names = await page.$$eval("[data-testid=entity-table] tbody td[data-col=team]", (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(names).toEqual(ids.map((id) => (id === "" ? "(none)" : (aliases.get(id) ?? id))));
    expect(names.some((n, i) => n !== ids[i])).toBe(true);
    expect(calls.length).toBe(1);
    await h.shot(page, "teams");
    const team = ids.find((id) => id !== "" && aliases.get(id))!;
    await page.click(`[data-testid=entity-table] tbody td[data-col=team][data-value="${team}"]`);
    await page.waitForSelector("[data-testid=entity-name]");
    await settled(page);
    expect(await page.textContent("[data-testid=entity-name]")).toBe(aliases.get(team));
    const logTeams = await page.$$eval("[data-testid=entity-logs] tbody td[data-col=team_id]", (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(new Set(logTeams)).toEqual(new Set([aliases.get(team)]));
    // Still one call: the answer is shared by every page and cell.
    expect(calls.length).toBe(1);

    // An internal user: only the teams that are theirs are named; nobody else's team appears.
    await page.evaluate(() => sessionStorage.clear());
    await signIn(page, h.srv.url, h.internal.key, `/teams?${VIEW}`);
    await settled(page);
    const own = await (await h.api(h.internal.key)).spend.teamList();
    const keyTeams = await h.t.db
      .selectFrom("LiteLLM_VerificationToken")
      .select("team_id")
      .where("user_id", "=", h.internal.userId)
      .execute();
    const allowed = new Set(keyTeams.map((k) => k.team_id));
    expect(own.teams.length).toBeGreaterThan(0);
    for (const t of own.teams) expect(allowed.has(t.team_id) || t.team_id === null).toBe(true);
    const ownIds = await columnValues(page, "entity-table", "team");
    const ownAnalytics = (
      await (
        await h.api(h.internal.key)
      ).analytics.query({ start: FROM, end: TO, timezone: "UTC", dims: ["team"] })
    ).rows as unknown as Row[];
    expect(new Set(ownIds)).toEqual(new Set(ownAnalytics.map((r) => String(r.team ?? ""))));
    await page.close();
  });

  it("a tag's page lists its logs (logs.page filtered by tag), equal to the procedure and the raw logs", async () => {
    const page = await h.page();
    const api = await h.api();
    const tags = (
      await api.analytics.query({ start: FROM, end: TO, timezone: "UTC", dims: ["tag"], order_by: "spend" })
    ).rows as unknown as Row[];
    const tag = String(tags.find((r) => r.tag)!.tag);
    await signIn(page, h.srv.url, MASTER, `/tags/${encodeURIComponent(tag)}?${VIEW}`);
    await settled(page);
    const window = { start_date: "2026-11-01 00:00:00", end_date: "2026-11-30 23:59:59.999999" };
    const want = await api.logs.page({ ...window, tag, limit: 20 });
    expect(want.data.length).toBe(20);
    expect(await columnValues(page, "logs-table", "request_id")).toEqual(want.data.map((r) => r.request_id));
    const raw = await sql<{ request_id: string }>`SELECT request_id FROM "LiteLLM_SpendLogs"
      WHERE "startTime" >= '2026-11-01' AND "startTime" < '2026-12-01'
        AND jsonb_typeof(request_tags) = 'array' AND request_tags ? ${tag}
      ORDER BY "startTime" DESC, request_id DESC LIMIT 20`.execute(h.t.db);
    expect(want.data.map((r) => r.request_id)).toEqual(raw.rows.map((r) => r.request_id));
    await h.shot(page, "tag-page");

    // "All logs" opens the explorer with the tag filter; its total is the procedure's.
    await page.click("[data-testid=entity-logs] a:has-text('All logs')");
    await page.waitForURL(/\/logs\?.*tag=/);
    await settled(page);
    const total = (await api.logs.page({ ...window, tag, limit: 50, include_total: true })).total;
    expect(Number(await page.getAttribute("[data-testid=logs-total]", "data-value"))).toBe(total);
    expect(await page.inputValue("input[name=tag]")).toBe(tag);

    // An internal user's tag page: their own logs only.
    await page.evaluate(() => sessionStorage.clear());
    await signIn(page, h.srv.url, h.internal.key, `/tags/${encodeURIComponent(tag)}?${VIEW}`);
    await settled(page);
    const own = await (await h.api(h.internal.key)).logs.page({ ...window, tag, limit: 20 });
    expect(await columnValues(page, "logs-table", "request_id")).toEqual(own.data.map((r) => r.request_id));
    expect(new Set(await columnValues(page, "logs-table", "user"))).toEqual(new Set([h.internal.userId]));
    await page.close();
  });

  it("every panel of every page has a state, every filled chart or table a CSV button; an empty range empties them all", async () => {
    const page = await h.page();
    await signIn(page, h.srv.url, MASTER, `/?${VIEW}`);
    const tag = "prod";
    for (const path of ["/", "/logs", "/teams", "/tags", `/tags/${tag}`, "/activity", "/budgets"]) {
      await page.goto(`${h.srv.url}${path}?${VIEW}`);
      await settled(page);
      expect(await page.locator('[data-state="error"]').count(), path).toBe(0);
      const ready = await page.locator('section[data-state="ready"]').count();
      expect(ready, path).toBeGreaterThan(0);
      expect(
        await page.locator('section[data-state="ready"] > header button:has-text("CSV")').count(),
        path,
      ).toBe(ready);
    }
    // The range in the URL applies to every range panel of the activity page, failures and 429s too.
    await page.goto(`${h.srv.url}/activity?from=2020-01-01&to=2020-01-31&tz=UTC`);
    await settled(page);
    const states = await page.$$eval("section[data-state]", (ss) =>
      ss.map((s) => s.getAttribute("data-state")),
    );
    expect(states.length).toBeGreaterThan(4);
    expect(new Set(states)).toEqual(new Set(["empty"]));
    await page.close();
  });
});
