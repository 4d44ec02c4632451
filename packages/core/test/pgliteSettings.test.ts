import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openDatabase, pgliteStartParams } from "../src/db/connect.ts";
import { settingsFromEnv } from "../src/runtime.ts";
import { emptyPgliteTemplate, testEngine } from "../src/testing/index.ts";

/** The embedded PGlite's start settings: small shared_buffers by default, one setting from the environment. */
describe.skipIf(testEngine() === "postgres")("PGlite start settings", () => {
  const shown = async (settings?: { shared_buffers: string }) => {
    // From the run's empty template (initdb's output): the settings are start parameters, not data.
    const h = await openDatabase({
      loadDataDir: await emptyPgliteTemplate(),
      ...(settings ? { pgliteSettings: settings } : {}),
    });
    try {
      const r = await sql<{ shared_buffers: string }>`SHOW shared_buffers`.execute(h.db);
      return r.rows[0]!.shared_buffers;
    } finally {
      await h.close();
    }
  };

  it("shared_buffers is 32MB unless set", async () => {
    expect(await shown()).toBe("32MB");
    expect(await shown({ shared_buffers: "16MB" })).toBe("16MB");
  });

  it("SPENDLENS_PGLITE_SHARED_BUFFERS is read at the edge and a bad value names it", () => {
    expect(settingsFromEnv({ SPENDLENS_PGLITE_SHARED_BUFFERS: "64MB" }).pgliteSharedBuffers).toBe("64MB");
    expect(settingsFromEnv({}).pgliteSharedBuffers).toBeUndefined();
    for (const bad of ["lots", "32", "32MB; DROP", "-1MB"])
      expect(() => settingsFromEnv({ SPENDLENS_PGLITE_SHARED_BUFFERS: bad })).toThrow(
        /SPENDLENS_PGLITE_SHARED_BUFFERS must be a size like 32MB/,
      );
  });

  it("start parameters keep PGlite's own and refuse names outside the allowlist", () => {
    const p = pgliteStartParams({ work_mem: "2MB" });
    expect(p.slice(0, 2)).toEqual(["--single", "-F"]);
    expect(p.slice(-4)).toEqual(["-c", "shared_buffers=32MB", "-c", "work_mem=2MB"]);
    expect(() => pgliteStartParams({ ["fsync" as "work_mem"]: "off" })).toThrow(/not a known setting/);
  });
});
