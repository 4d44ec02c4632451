/**
 * Splits a migration file's SQL text into its statements, at the semicolons outside quotes and comments:
 * '…' strings (with '' inside), "…" identifiers, $tag$…$tag$ bodies, -- line and nested block
 * comments. Each statement keeps its own text exactly (leading comments included); pieces holding only
 * whitespace and comments are dropped. Kysely runs each one as it ran the TypeScript migrations' (one
 * statement per query, which both pg's extended protocol and PGlite's `query` require).
 */
export function splitSqlStatements(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  let code = false; // the current piece holds something besides whitespace and comments
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "-" && text[i + 1] === "-") {
      const e = text.indexOf("\n", i);
      i = e < 0 ? n : e + 1;
    } else if (c === "/" && text[i + 1] === "*") {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === "/" && text[i + 1] === "*") {
          depth += 1;
          i += 2;
        } else if (text[i] === "*" && text[i + 1] === "/") {
          depth -= 1;
          i += 2;
        } else i += 1;
      }
      if (depth > 0) throw new Error("unterminated /* comment in SQL text");
    } else if (c === "'" || c === '"') {
      code = true;
      let j = i + 1;
      for (;;) {
        j = text.indexOf(c, j);
        if (j < 0) throw new Error(`unterminated ${c} quote in SQL text`);
        if (text[j + 1] === c) j += 2;
        else break;
      }
      i = j + 1;
    } else if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      // A dollar quote opens only where an identifier cannot continue ($1 parameters, names with $).
      if (m && !(i > 0 && /[A-Za-z0-9_$]/.test(text[i - 1]!))) {
        const end = text.indexOf(m[0], i + m[0].length);
        if (end < 0) throw new Error(`unterminated ${m[0]} quote in SQL text`);
        code = true;
        i = end + m[0].length;
      } else {
        code = true;
        i += 1;
      }
    } else if (c === ";") {
      if (code) out.push(text.slice(start, i).trim());
      start = i + 1;
      code = false;
      i += 1;
    } else {
      if (!/\s/.test(c)) code = true;
      i += 1;
    }
  }
  if (code) out.push(text.slice(start).trim());
  return out;
}
