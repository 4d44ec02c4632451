import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { migrationModuleText } from "../scripts/embed-migrations.mjs";
import { MIGRATION_FILES } from "../src/db/migrationFiles.ts";
import { migrations, migrationsHash } from "../src/db/migrations.ts";
import { splitSqlStatements } from "../src/db/sqlText.ts";

/**
 * The sha256 of every shipped migration file. A migration is frozen once it has shipped: databases out
 * there ran exactly this text and will never run it again. A new migration adds its line here.
 */
const SHIPPED: Record<string, string> = {
  "0001_base": "29090ae2504b6d1754446373918dcb7cf295a4a3a54f82bad2090faa0c8415f6",
  "0002_budgets": "a6054fa4471eaff8f8e919b48c43a2c50a7e6a6ce0bbe11e929d6f8c73036421",
  "0003_rollups": "c5167f06e4fd093b6e538781c02793dd24d98550f41ce8342eaf35b22f00ede3",
  "0004_tag_request_rollups": "e49106eb2b0ef6c9983bf671c726f4d4d36b5235f35bea6220bbe28983eb70f2",
  "0005_derived_rollups": "3b8e3e7ded658c84c2c9ec6c396adb49f7af79960b630a4f218684e436ca1537",
  "0006_derived_guard": "ecffbadb7689e1a7fe257dfe1261b96dcbb3e8a7072f12ca26343f1e08dcf61e",
  "0007_spend_counter_deltas": "0f151e3b38d1c28c5aa2d441179ce1796220d8756a9fe7dd84f855c17ed0bc74",
  "0008_budget_alerts": "f1cabbb23bf41678f21266a4c7bd9ca5b5ce3777e32dfcb8cbee0ccb80868b19",
  "0009_activity_rollups": "0c7e47d8c46977a91ad61449f74bc065b690173d122f660d0e482ca3a06eb8e1",
  "0010_append_only_rollups": "4fec4a3cdf20fd6253a46f3a5b0723994b64e97001e88cda91de44ca4dc50b78",
  "0011_partitioned_logs": "dec831a44900454ff5d10b5d9be0a37aa23130e9a93290758540b31771e0829e",
  "0012_activity_route_rollups": "7574015ca34b2a4a552160076a3025fb7ec55e60bd42e2fb8d0a4e7a1a872e27",
  "0013_log_page_filter_indexes": "7b261c2739af29ead80eb405311b453e70fadbd91c6865cb6a9ac0ce4ba4f39d",
  "0014_provider_hourly": "8a1b8222bc9127531596abc0b2402ecdbf612670cd904077afe9b49080b0f0d6",
  "0015_fold_routes": "a4f1544609cb3e3388eff99d8933792c20c3e2b4155de621742bd7c1ba7a50ed",
  "0016_end_user_hourly": "3568099bec73838f0a65154ebde28ff7c9d3dd95406edeb7ca82d46ca8dafa6e",
  "0017_activity_day_marks": "73345da3b7176d98f12114097faea3b49cd4ff76f2db06f70431617cf0c9d4c0",
  "0018_failure_sort_indexes": "7fb37346be50b0a67f12f018231825ebf37f36734d514d7ba507cff85ddb69da",
  "0019_activity_route_marks": "97ecfb476e28d981e0b7c74e07728793ce26b058e36209b92a3dfe94a098194d",
  "0020_failure_alias_index": "699337b1be4bfc740e636a044f3c60346f01b535f49f72e2c7fc6a6cbcd43cf7",
  "0021_page_check_probes": "9cae06205ab91e18b240a36954ea0829fc8e9dc2b22043a41a79c83ae125c214",
  "0022_logs_folded_guard": "b489a9c8fcd9c816e15c7be6e316e10c31f22c340b0eff9b7d15f46b62324b9e",
  "0023_partition_moves_bounded": "20a6d2ecd0c3db9ce16847728b8634a68ec3033f0783141d6947047c6a1ec68b",
};

const dir = new URL("../db/migrations/", import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".sql"))
  .sort();

describe("migration files", () => {
  it("every shipped migration is byte for byte what shipped", () => {
    for (const [name, sha] of Object.entries(SHIPPED)) {
      const file = `${name}.sql`;
      expect(files, `db/migrations/${file} was removed: a shipped migration stays`).toContain(file);
      const got = createHash("sha256")
        .update(readFileSync(new URL(file, dir)))
        .digest("hex");
      expect(
        got,
        `db/migrations/${file} was edited after it shipped. Restore it (git checkout) and add a new migration ` +
          "(the next NNNN_name.sql) that makes the change instead.",
      ).toBe(sha);
    }
  });

  it("every file is pinned above, named NNNN_name.sql, numbered 0001 on without gaps", () => {
    files.forEach((f, i) => {
      expect(f).toMatch(/^\d{4}_[a-z0-9_]+\.sql$/);
      expect(Number(f.slice(0, 4)), `db/migrations/${f}: numbers run 0001, 0002, … without gaps`).toBe(i + 1);
      const name = f.slice(0, -4);
      const sha = createHash("sha256")
        .update(readFileSync(new URL(f, dir)))
        .digest("hex");
      expect(SHIPPED[name], `new migration ${f}: pin it in this test as "${name}": "${sha}"`).toBeDefined();
    });
  });

  it("src/db/migrationFiles.ts embeds exactly the files (else: pnpm --filter @spendlens/core embed-migrations)", () => {
    expect(readFileSync(new URL("../src/db/migrationFiles.ts", import.meta.url), "utf8")).toBe(
      migrationModuleText(),
    );
    expect(MIGRATION_FILES.map((m) => `${m.name}.sql`)).toEqual(files);
    expect(Object.keys(migrations)).toEqual(files.map((f) => f.slice(0, -4)));
    expect(migrationsHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("each file splits into whole statements (no statement lost or cut inside a quote)", () => {
    for (const m of MIGRATION_FILES) {
      const parts = splitSqlStatements(m.sql);
      expect(parts.length).toBeGreaterThan(0);
      // Rejoined with the semicolons between them, the statements are the whole file.
      const squash = (s: string) => s.replace(/\s+/g, "");
      expect(squash(`${parts.join(";")};`)).toBe(squash(m.sql));
      for (const p of parts) expect(p.endsWith(";")).toBe(false);
    }
  });

  it("the splitter keeps quoted semicolons, dollar quotes and comments inside their statement", () => {
    expect(
      splitSqlStatements(
        "-- a; comment\nSELECT 'x;''y';\n/* c; /* nested; */ */ SELECT $f$ a; $$ b; $$ $f$;\nSELECT \"a;b\" FROM t; -- tail;\n",
      ),
    ).toEqual([
      "-- a; comment\nSELECT 'x;''y'",
      "/* c; /* nested; */ */ SELECT $f$ a; $$ b; $$ $f$",
      'SELECT "a;b" FROM t',
    ]);
    expect(splitSqlStatements("SELECT $1; SELECT a$b$c")).toEqual(["SELECT $1", "SELECT a$b$c"]);
  });
});
