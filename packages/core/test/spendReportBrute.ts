/** Moved to `@spendlens/core/testing` (src/testing/spendReport.ts); this path stays for old imports. */
export * from "../src/testing/spendReport.ts";
