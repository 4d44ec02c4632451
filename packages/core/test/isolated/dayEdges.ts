/**
 * Run in a child process by days.test.ts (a regression here is an endless synchronous loop, which must
 * fail the test rather than hang it): day arithmetic at the edges of the calendar, printed as JSON.
 */
import { addDays, eachDay } from "../../src/validation.ts";

const attempt = (f: () => unknown) => {
  try {
    return { ok: f() };
  } catch (e) {
    return { threw: e instanceof Error ? e.name : String(e) };
  }
};

process.stdout.write(
  JSON.stringify({
    lastTwoDays: attempt(() => eachDay("9998-12-30", "9998-12-31")),
    dayAfterLast: attempt(() => addDays("9998-12-31", 1)),
    year9999: attempt(() => eachDay("9999-12-30", "9999-12-31")),
    past9999: attempt(() => addDays("9999-12-31", 1)),
    before1: attempt(() => addDays("0001-01-01", -1)),
  }),
);
