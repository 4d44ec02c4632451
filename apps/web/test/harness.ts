/**
 * Browser test harness: the real server (apps/server, serving apps/web/dist) on a fresh test database
 * with demo data, and Debian's Chromium driven by playwright-core (never a browser download).
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCaller, createContext, type Services } from "@spendlens/api";
import { demoConfigYaml, seedDemoData } from "@spendlens/core/demo";
import { createTestDb, hashToken, parseConfig, type TestDb, testRunId } from "@spendlens/core/testing";
import { type RunningServer, startServer } from "@spendlens/server";
import { sql } from "kysely";
import pino from "pino";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.SPENDLENS_CHROMIUM ?? "/usr/bin/chromium";
/**
 * Without Debian's Chromium the browser tests are skipped on a developer's machine (said plainly in the
 * run), as the Postgres pass is without a Postgres; CI (CI=true) installs it and fails loudly without it.
 */
export const skipBrowserTests = !existsSync(CHROMIUM) && !process.env.CI;
const HERE = dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = join(HERE, "..", "..", "..", "docs", "screenshots");
const DIST_INDEX = join(HERE, "..", "dist", "index.html");

export const MASTER = "sk-master-web-test";
/** The demo window: 30 UTC days ending 2026-11-30. */
export const END = new Date("2026-11-30T23:00:00Z");
export const FROM = "2026-11-01";
export const TO = "2026-11-30";

export interface WebHarness {
  t: TestDb;
  srv: RunningServer;
  services: Services;
  ctx: BrowserContext;
  /** A caller of the procedures as a key would call them (the API the page must agree with). */
  api(key?: string): Promise<ReturnType<typeof createCaller>>;
  /** An internal user's raw demo key with logs in the window, and its user id. */
  internal: { key: string; userId: string };
  page(): Promise<Page>;
  /** Saves a screenshot to docs/screenshots/ when SPENDLENS_SCREENSHOTS=1; otherwise nothing. */
  shot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startWebHarness(logs = 4000): Promise<WebHarness> {
  if (!existsSync(DIST_INDEX))
    throw new Error("apps/web/dist is missing: run `pnpm --filter @spendlens/web build`");
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  // Chromium starts while the database is made and seeded (the two wait on different things).
  const userDataDir = mkdtempSync(join(tmpdir(), `spendlens-web-${testRunId()}-`));
  const launching = chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1360, height: 900 },
    timezoneId: "UTC",
    locale: "en-US",
  });
  const prepared = prepare(logs);
  // Neither left running when the other failed.
  const [ctx, p] = await Promise.all([launching, prepared]).catch(async (e: unknown) => {
    await launching.then((c) => c.close()).catch(() => {});
    await prepared.then((x) => x.srv.close().then(() => x.t.drop())).catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  });
  const { t, srv, services, key, userId } = p;
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    t,
    srv,
    services,
    ctx,
    internal: { key, userId },
    api: async (k = MASTER) => createCaller(await createContext(services, k)),
    page: async () => {
      const pg = await ctx.newPage();
      pg.setDefaultTimeout(30_000);
      return pg;
    },
    shot: async (page, name) => {
      // The README's and docs' pictures, not a check: taken only when asked for (SPENDLENS_SCREENSHOTS=1),
      // as a full-page PNG each cost Chromium ~0.1 s of CPU (~1.5 s over the file).
      if (process.env.SPENDLENS_SCREENSHOTS !== "1") return;
      // Written whole, then renamed: the two engines' passes may run side by side (scripts/test.mjs).
      const file = join(SCREENSHOTS, `${name}.png`);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, await page.screenshot({ fullPage: true }));
      renameSync(tmp, file);
    },
    close: async () => {
      await ctx.close().catch(() => {});
      await srv.close();
      await t.drop();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** The seeded test database, the server on it, and an internal user with logs and one of their keys. */
async function prepare(logs: number) {
  const t = await createTestDb();
  await seedDemoData(t, { logs, seed: 11, end: END, days: 30 });
  const config = parseConfig(demoConfigYaml());
  const services: Services = { db: t.db, handle: t, config, masterKey: MASTER };
  const srv = await startServer({ services, port: 0, logger: pino({ level: "silent" }) });

  // The internal user with the most logs in the window, and one of their demo keys.
  const top = await sql<{ user: string }>`
    SELECT l."user" FROM "LiteLLM_SpendLogs" l JOIN "LiteLLM_UserTable" u ON u.user_id = l."user"
    WHERE u.user_role = 'internal_user' GROUP BY l."user" ORDER BY count(*) DESC, l."user" LIMIT 1`.execute(
    t.db,
  );
  const userId = top.rows[0]!.user;
  const tokens = await t.db
    .selectFrom("LiteLLM_VerificationToken")
    .select("token")
    .where("user_id", "=", userId)
    .execute();
  const wanted = new Set(tokens.map((r) => r.token));
  let key: string | null = null;
  for (let i = 1; i <= 5000 && !key; i++) if (wanted.has(hashToken(`sk-demo-${i}`))) key = `sk-demo-${i}`;
  if (!key) throw new Error(`no demo key of ${userId}`);
  return { t, srv, services, key, userId };
}

/** Signs in through the form (the key is kept in this tab's sessionStorage only). */
export async function signIn(page: Page, base: string, key: string, path = "/"): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.fill("input#key", key);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=who]");
}

/** Waits until no panel on the page is loading. */
export async function settled(page: Page): Promise<void> {
  // At least one panel rendered (right after a navigation the app may still be checking the key, with
  // no panel yet), and none of them loading.
  await page.waitForFunction(
    () =>
      document.querySelector("[data-state]") !== null &&
      document.querySelectorAll('[data-state="loading"]').length === 0,
  );
}

/** The raw values of one column of a table, as the page holds them (data-value). */
export async function columnValues(page: Page, tableTestId: string, col: string): Promise<string[]> {
  return page.$$eval(`[data-testid="${tableTestId}"] tbody td[data-col="${col}"]`, (tds) =>
    tds.map((td) => td.getAttribute("data-value") ?? ""),
  );
}
