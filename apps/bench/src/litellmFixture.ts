import { readFileSync } from "node:fs";

/**
 * LiteLLM's own DDL as the repository keeps it (packages/core/test/fixtures/litellm: `schema.sql`, the
 * tables as LiteLLM's Prisma migrations make them; `views.sql`, its views), one statement a string,
 * comment lines dropped.
 */
export function litellmFixture(file: "schema.sql" | "views.sql"): string[] {
  return readFileSync(
    new URL(`../../../packages/core/test/fixtures/litellm/${file}`, import.meta.url),
    "utf8",
  )
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter((s) => s !== "");
}
