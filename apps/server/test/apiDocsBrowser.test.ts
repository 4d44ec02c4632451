import { existsSync } from "node:fs";
import { restRoutes } from "@spendlens/api";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

// Debian's chromium (`apt-get install -y chromium`); playwright's own browser download is not used.
const CHROMIUM = process.env.SPENDLENS_CHROMIUM ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
/** SPENDLENS_SCREENSHOT=path writes the page's screenshot there (docs/api-reference.png). */
const SCREENSHOT = process.env.SPENDLENS_SCREENSHOT;

describe.skipIf(!hasChromium)("/docs in headless Chromium", () => {
  const h = useTestServer({ master: "sk-master-apidocs" });
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("renders every route from /openapi.json, loading nothing from elsewhere", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const origin = new URL(h.srv.url).origin;
    const elsewhere: string[] = [];
    const failed: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) elsewhere.push(r.url());
    });
    page.on("requestfailed", (r) => failed.push(r.url()));
    page.on("pageerror", (e) => failed.push(e.message));
    await page.goto(`${h.srv.url}/docs`);
    await page.waitForSelector(".opblock", { timeout: 30_000 });
    const blocks = await page.$$eval(".opblock", (els) =>
      els.map((e) => {
        const method = e.querySelector(".opblock-summary-method")?.textContent?.trim() ?? "";
        const path = e.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
        return `${method} ${path}`;
      }),
    );
    const routes = restRoutes().map((r) => `${r.method} ${r.path}`);
    expect([...blocks].sort()).toEqual([...routes].sort());
    expect(await page.textContent(".title")).toContain("spendlens");
    expect(elsewhere).toEqual([]);
    expect(failed).toEqual([]);
    if (SCREENSHOT) {
      // Opens one operation so the picture shows parameters and responses too.
      await page.click("#operations-activity-activityGlobalActivity .opblock-summary");
      await page.waitForSelector("#operations-activity-activityGlobalActivity .parameters");
      await page.screenshot({ path: SCREENSHOT, fullPage: false });
    }
    await page.close();
  }, 60_000);
});
