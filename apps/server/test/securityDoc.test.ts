import { readFileSync } from "node:fs";
import { ACCESS_LEVELS, type Access } from "@spendlens/api";
import { procedureList } from "@spendlens/api/testing";
import { describe, expect, it } from "vitest";

/**
 * Docs stay true to the router: docs/security.md lists every procedure with the access its builder
 * declared, and docs/api.md's role column says the same thing in words.
 */
const procs = procedureList();
const read = (name: string) => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), "utf8");

describe("docs/security.md", () => {
  const doc = read("security.md");

  it("has the access table of every procedure, as the meta declares it", () => {
    const table = /<!-- access-table:start -->\n([\s\S]*?)<!-- access-table:end -->/.exec(doc)?.[1];
    expect(table, "the access-table markers").toBeDefined();
    const expected = [
      "| procedure | REST route | access |",
      "|---|---|---|",
      ...procs.map(
        (p) =>
          `| \`${p.path}\` | ${p.rest ? `${p.rest.method} \`${p.rest.path}\`` : "(tRPC only)"} | ${p.access} |`,
      ),
    ];
    expect(table!.trimEnd().split("\n")).toEqual(expected);
  });

  it("describes every access level", () => {
    for (const a of ACCESS_LEVELS) expect(doc).toContain(`| \`${a}\` |`);
  });
});

describe("docs/api.md", () => {
  const doc = read("api.md");
  const ROLE_WORDS: Record<Access, string> = {
    authed: "any key",
    scoped: "scoped",
    adminRead: "admin",
    adminWrite: "write",
    ingest: "write or ingest grant",
  };

  it("names each route's role as its procedure's meta declares it", () => {
    for (const p of procs.filter((x) => x.rest)) {
      expect(doc, p.path).toContain(`| \`${p.rest!.path}\` | \`${p.path}\` | ${ROLE_WORDS[p.access!]} |`);
    }
  });
});
