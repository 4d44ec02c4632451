/** Moved to `@spendlens/core/testing` (`analyticsFixture`, src/testing/analytics.ts); this path stays for old imports. */
export * from "../src/testing/analytics.ts";
