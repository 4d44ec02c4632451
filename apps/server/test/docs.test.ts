import { readFileSync } from "node:fs";
import { restRoutes } from "@spendlens/api";
import { describe, expect, it } from "vitest";

// Docs stay true: every REST route the server serves is listed in docs/api.md with its procedure.
describe("docs/api.md", () => {
  const doc = readFileSync(new URL("../../../docs/api.md", import.meta.url), "utf8");
  it.each(restRoutes().map((r) => [r.method, r.path, r.procedure] as const))(
    "lists %s %s",
    (method, path, procedure) => {
      expect(doc).toContain(`| ${method} | \`${path}\` | \`${procedure}\` |`);
    },
  );
});
