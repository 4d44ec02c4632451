/**
 * The hostile-input test's side of the wire: the attacked server in a child process (killed and started
 * again when it stops answering), requests with a hard deadline, and the checks every answer must pass.
 */
import { type ChildProcess, fork } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Bundle, bundleTs } from "@spendlens/core/testing";
import type { ServerProcessOptions } from "./serverProcess.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER_DIR = join(HERE, "..", "..");

export interface AttackedServerOptions extends ServerProcessOptions {
  /**
   * PGlite: a data folder to copy before every start (a killed process may leave its folder half
   * written; every start is on a fresh copy). Each copy lives beside it, named with the run id.
   */
  template?: string;
}

/** The server in a child process; `restart()` kills it (SIGKILL) and starts another on the same data. */
export class AttackedServer {
  url = "";
  restarts = 0;
  private child: ChildProcess | null = null;
  private copies: string[] = [];
  private seq = 0;
  /** serverProcess.ts bundled once, for every start (under tsx a start cost ~2.5 s of CPU more). */
  private bundle: Bundle | null = null;
  /** The tail of the server process's stderr (the server itself logs nothing: its logger is silent). */
  stderr = "";

  constructor(private readonly opts: AttackedServerOptions) {}

  async start(): Promise<void> {
    let dataDir = this.opts.dataDir;
    if (this.opts.template) {
      dataDir = `${this.opts.template}-copy${this.copies.length}`;
      rmSync(dataDir, { recursive: true, force: true });
      cpSync(this.opts.template, dataDir, { recursive: true });
      this.copies.push(dataDir);
    }
    const env = {
      ...process.env,
      SPENDLENS_HOSTILE_SERVER: JSON.stringify({ ...this.opts, template: undefined, dataDir }),
    };
    this.bundle ??= await bundleTs(join(HERE, "serverProcess.ts"));
    const child = fork(this.bundle.file, [], {
      cwd: SERVER_DIR,
      execArgv: [],
      env,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.child = child;
    child.stderr?.on("data", (c: Buffer) => {
      this.stderr = (this.stderr + c.toString("utf8")).slice(-4000);
    });
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the server process did not start in 60 s")), 60_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the server process exited (${code}) before listening: ${this.stderr}`));
      });
      child.on("message", (m: { url?: string }) => {
        if (m.url) {
          clearTimeout(timer);
          resolve(m.url);
        }
      });
    });
  }

  /** Is the process alive and answering /healthz within `ms`? */
  async healthy(ms = 2_000): Promise<boolean> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return false;
    try {
      const r = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(ms) });
      await r.text();
      return r.status === 200;
    } catch {
      return false;
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    this.restarts++;
    await this.start();
  }

  /** A digest per table of the database's contents, computed by the server process. */
  checksum(): Promise<Record<string, string>> {
    const child = this.child;
    if (!child) return Promise.reject(new Error("no server process"));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off("message", onMessage);
        reject(new Error("no checksum from the server process in 20 s"));
      }, 20_000);
      const onMessage = (m: { id?: number; checksum?: Record<string, string>; error?: string }) => {
        if (m.id !== id) return;
        clearTimeout(timer);
        child.off("message", onMessage);
        if (m.checksum) resolve(m.checksum);
        else reject(new Error(m.error ?? "checksum failed"));
      };
      child.on("message", onMessage);
      child.send({ op: "checksum", id });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  /** Stops the process and removes the data copies this object made. */
  async close(): Promise<void> {
    await this.stop();
    for (const d of this.copies) rmSync(d, { recursive: true, force: true });
    this.bundle?.remove();
  }
}

// ---------- encoding hostile values ----------

const RAW = "\u0001raw:";

/** A JSON number that JSON.stringify cannot write (NaN, Infinity, a 30-digit integer): sent as a bare token. */
export const rawJsonToken = (token: string) => `${RAW}${token}\u0001`;

/**
 * JSON text of a value, with NaN/±Infinity and rawJsonToken(...) as bare tokens (invalid JSON on purpose).
 * Lone surrogates are written as \uD800 escapes (JSON.stringify does that), so the server gets them.
 */
export function hostileJson(v: unknown): string {
  const text = JSON.stringify(v, (_k, x) =>
    typeof x === "number" && !Number.isFinite(x) ? rawJsonToken(String(x)) : x,
  );
  if (text === undefined) return "null";
  return text.replace(/"\\u0001raw:(.*?)\\u0001"/g, "$1");
}

/**
 * Percent-encodes a query value byte by byte as the server will read it: a lone surrogate becomes the
 * bytes ED A0 80 … (invalid UTF-8), which URLSearchParams would have replaced with U+FFFD.
 */
export function encodeQueryValue(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += encodeURIComponent(s.slice(i, i + 2));
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join("");
      continue;
    }
    out += encodeURIComponent(s[i]!);
  }
  return out;
}

/** A query value as text: strings as they are, anything else as its JSON (numbers: String, so NaN stays NaN). */
export function queryText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return hostileJson(v);
}

/** A query string; an array value becomes the parameter repeated. */
export function queryString(input: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) && v.length > 0 ? v : [v])
      parts.push(`${encodeQueryValue(k)}=${encodeQueryValue(queryText(one))}`);
  }
  return parts.join("&");
}

// ---------- sending and checking ----------

export interface Outcome {
  status: number | null;
  text: string;
  /** Why there is no status: "timeout" or the network error. */
  failure?: string;
}

/**
 * One request with node:http (not fetch: undici's Request, streams and abort signals cost ~1 ms of CPU a
 * request in this process, over ~2,300 requests). The target is what fetch would send: the URL parsed
 * the same way (its path and query as the URL parser writes them), the body as UTF-8.
 */
export function send(
  url: string,
  method: string,
  path: string,
  key: string,
  body: string | undefined,
  timeoutMs: number,
): Promise<Outcome> {
  const u = new URL(`${url}${path}`);
  const data = body === undefined ? undefined : Buffer.from(body, "utf8");
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: `${u.pathname}${u.search}`,
        headers: {
          authorization: `Bearer ${key}`,
          ...(data === undefined
            ? {}
            : { "content-type": "application/json", "content-length": data.length }),
        },
        agent: KEEP_ALIVE,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          finish({ status: res.statusCode ?? null, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (e: NodeJS.ErrnoException) =>
          finish({ status: null, text: "", failure: `network error: ${e.code ?? e.message}` }),
        );
      },
    );
    const timer = setTimeout(() => {
      finish({ status: null, text: "", failure: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) =>
      finish({ status: null, text: "", failure: `network error: ${e.code ?? e.message}` }),
    );
    req.end(data);
  });
}

/** Kept-alive connections, as fetch's (undici's) pool keeps them. */
const KEEP_ALIVE = new Agent({ keepAlive: true });

/**
 * What an answer must never show: a stack frame, a source file path, SQL, the database driver's words.
 * Applied to the body with the values the request sent taken out (a 400 may quote them).
 */
export const INTERNALS: [string, RegExp][] = [
  ["stack frame", /\bat (?:async )?[\w.$<>[\]]+ \(|\bat (?:file:\/\/)?\/\S+:\d+:\d+/],
  ["source path", /(?:^|[\s"'(])\/(?:[\w.@-]+\/)+[\w.@-]+\.(?:ts|js|mjs|cjs)\b|node_modules|file:\/\//],
  ["file system path", /(?:^|[\s"'(])\/(?:work|home|usr|tmp|var|etc|root|opt)\//],
  ["SQL", /\b(?:select\s[\s\S]{0,200}\sfrom|insert\s+into|update\s+\S+\s+set|delete\s+from)\b|\$\d+\b/i],
  [
    "database words",
    /syntax error at|relation "|column "|violates|invalid input syntax|out of range|displacement|invalid byte sequence|null character|unterminated|SQLSTATE|duplicate key|deadlock|statement timeout|canceling statement/i,
  ],
  ["driver words", /\bpg\b|pg-protocol|postgres(?:ql)?\b|pglite|kysely|ECONN\w+|EPIPE|ETIMEDOUT/i],
  [
    "JS error",
    /\b(?:TypeError|RangeError|ReferenceError|InternalError)\b|Maximum call stack|heap out of memory/,
  ],
];

/** The problems with one answer (empty when it is fine). */
export function answerProblems(o: Outcome, sentTexts: string[]): string[] {
  if (o.status === null) return [o.failure ?? "no answer"];
  const out: string[] = [];
  if (o.status >= 500) out.push(`status ${o.status}`);
  else if (o.status < 200 || (o.status >= 300 && o.status < 400)) out.push(`status ${o.status}`);
  let body = o.text;
  for (const s of sentTexts) {
    if (s.length >= 3) body = body.split(s).join("");
  }
  for (const [what, re] of INTERNALS) {
    const m = re.exec(body);
    if (m) out.push(`${what} in the body: …${body.slice(Math.max(0, m.index - 60), m.index + 80)}…`);
  }
  return out;
}
