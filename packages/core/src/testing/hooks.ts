/**
 * A test file's database in one line (core's tests): `const t = useTestDb({ now, setup })` opens a fresh
 * migrated database in beforeAll (the clock pinned first when `now` is given), runs `setup` on it, and
 * drops it (and unpins the clock) in afterAll. Not exported from `@spendlens/core/testing`, which child
 * processes outside vitest import too; this module imports vitest.
 */
import { afterAll, beforeAll } from "vitest";
import { setClock } from "../clock.ts";
import { createTestDb, type TestDb } from "./index.ts";

export function useTestDb(
  opts: {
    /** The pinned clock: a fixed instant, or a function the test's own variable feeds. */
    now?: Date | (() => Date);
    migrate?: boolean;
    setup?: (t: TestDb) => Promise<unknown>;
  } = {},
): TestDb {
  const t = {} as TestDb;
  beforeAll(async () => {
    const now = opts.now;
    if (now) setClock(typeof now === "function" ? now : () => now);
    Object.assign(t, await createTestDb(opts.migrate === false ? { migrate: false } : {}));
    await opts.setup?.(t);
  });
  afterAll(async () => {
    if (opts.now) setClock(null);
    await t.drop?.();
  });
  return t;
}
