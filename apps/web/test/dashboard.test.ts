import { readFileSync } from "node:fs";
import { hashToken } from "@spendlens/core";
import { sql } from "kysely";
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
});
afterAll(async () => {
  await h?.close();
});

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
    const page = await h.page();
    await signIn(page, h.srv.url, MASTER, `/?${VIEW}`);
    await settled(page);
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
    const page = await h.page();
    await signIn(page, h.srv.url, MASTER, `/teams?${VIEW}`);
    await settled(page);
    const api = await h.api();
    const window = { start: FROM, end: TO, timezone: "UTC" };
    const list = (await api.analytics.query({ ...window, dims: ["team"], order_by: "spend" }))
      .rows as unknown as Row[];
    expect(await columnValues(page, "entity-table", "spend")).toEqual(list.map((r) => String(r.spend)));
    await h.shot(page, "teams");

    const team = list.find((r) => r.team !== null)!.team as string;
    await page.click(`[data-testid=entity-table] tbody td[data-col=team][data-value="${team}"]`);
    await page.waitForSelector("[data-testid=entity-name]");
    expect(await page.textContent("[data-testid=entity-name]")).toBe(team);
    await settled(page);
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
    const page = await h.page();
    await signIn(page, h.srv.url, MASTER, `/logs?${VIEW}`);
    await settled(page);
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
    const page = await h.page();
    await signIn(page, h.srv.url, MASTER, `/activity?${VIEW}`);
    await settled(page);
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
    const page = await h.page();
    const raw = h.internal.key === "sk-demo-1999" ? "sk-demo-1998" : "sk-demo-1999";
    await signIn(page, h.srv.url, raw, `/?${VIEW}`);
    await settled(page);
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
    const page = await h.page();
    await signIn(page, h.srv.url, MASTER, "/?from=2020-01-01&to=2020-01-31&tz=UTC");
    await settled(page);
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

  it("budgets: provider budgets from the procedure; the place for budget status says what is missing", async () => {
    const page = await h.page();
    // The demo data has no key or user budgets: give one key and one user a max_budget.
    await h.t.db
      .updateTable("LiteLLM_VerificationToken")
      .set({ max_budget: 10, budget_duration: "30d" })
      .where("token", "=", hashToken(h.internal.key))
      .execute();
    await h.t.db
      .updateTable("LiteLLM_UserTable")
      .set({ max_budget: 2.5 })
      .where("user_id", "=", h.internal.userId)
      .execute();
    await signIn(page, h.srv.url, MASTER, `/budgets?${VIEW}`);
    await settled(page);
    const api = await h.api();
    const b = await api.budgets.providerBudgets();
    const providers = Object.keys(b.providers);
    expect(providers.length).toBeGreaterThan(0);
    const shownProviders = await page.$$eval(
      "[data-testid=provider-budgets] tbody td[data-col=provider]",
      (tds) => tds.map((td) => td.getAttribute("data-value")),
    );
    expect([...shownProviders].sort()).toEqual([...providers].sort());
    // Keys and users with a max_budget: as many rows as the procedures answer such rows (at most 100 shown).
    for (const [testId, rows] of [
      ["key-budgets", await api.spend.spendKeys()],
      ["user-budgets", await api.spend.spendUsers({})],
    ] as const) {
      const n = (rows as unknown as { max_budget: unknown }[]).filter(
        (r) => typeof r.max_budget === "number",
      ).length;
      const state = await page.getAttribute(`[data-testid=${testId}]`, "data-state");
      expect(state).toBe(n === 0 ? "empty" : "ready");
      expect(await page.locator(`[data-testid=${testId}] tbody tr`).count()).toBe(Math.min(n, 100));
    }
    expect(await columnValues(page, "key-budgets-table", "max_budget")).toEqual(["10"]);
    expect(await columnValues(page, "user-budgets-table", "label")).toEqual([h.internal.userId]);
    expect(await columnValues(page, "user-budgets-table", "max_budget")).toEqual(["2.5"]);
    const user = (await api.spend.spendUsers({ user_id: h.internal.userId }))[0] as unknown as {
      spend: number;
    };
    expect(await columnValues(page, "user-budgets-table", "spend")).toEqual([String(user.spend)]);
    expect(await page.textContent("[data-testid=budget-status]")).toContain("Not available yet");
    await h.shot(page, "budgets");
    await page.close();
  });
});
