import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { SpendlensError } from "../errors.ts";
import { ENCODINGS, type EncodingName, type TextTokenCounter } from "./tokenize.ts";

/**
 * Token counting in a child process that loads a BPE table when first asked and exits after `idleMs`
 * without work, so the server's memory returns to what it was (BENCHMARKS.md, "session 6, lean embedded
 * mode"): a table costs 75–100 MiB of resident memory once loaded, and a V8 heap (or a worker thread's
 * allocator arenas, measured: ~40 MiB kept after the thread ends) does not give it back to the OS; an
 * ended process does.
 *
 * One child at a time serves every request (they queue in it: counting is synchronous CPU work), each
 * request carries an id, answers are matched by it. The child is a plain `node -e` script requiring
 * gpt-tokenizer's CommonJS build by absolute path (resolved here), so it needs neither a TypeScript loader
 * nor a file next to a bundle. Failures are errors a caller can act on, never a hang:
 * - the child ends (crash, out of memory, killed) with requests in flight: each fails UNAVAILABLE (503);
 * - it cannot be started: UNAVAILABLE;
 * - a request runs past `timeoutMs`: the child is killed, that request fails TIMEOUT (504), the others
 *   in flight UNAVAILABLE; the next request starts a new child.
 * While idle, neither the child nor its channel keeps the parent's event loop alive (a CLI exits at once).
 */
export interface TokenCounterOptions {
  /** Milliseconds the child stays after its last answer (then it exits). Default 30 s; 0: at once. */
  idleMs?: number;
  /** Longest one count may take. Default 60 s. */
  timeoutMs?: number;
  /** The child's V8 heap limit in MiB (a table needs ~80, the texts the rest). Default 512. */
  maxHeapMiB?: number;
  /** The program run as the child. Default this process's node (tests name one that fails). */
  execPath?: string;
}

/**
 * The child: loads each encoding's module on first use; answers `{ id, n }` or `{ id, error }`; exits
 * when the parent disconnects (idle, or the parent ended). argv[1]: JSON { encoding: absolute path }.
 * `countTokens` with an empty disallowedSpecial: special-token markers are plain text, as js-tiktoken's
 * `encode(text, [], [])` and tiktoken's `encode_ordinary` count them.
 */
const CHILD = `"use strict";
const paths = JSON.parse(process.argv[1]);
const loaded = new Map();
const opts = { disallowedSpecial: new Set() };
process.on("message", (m) => {
  let reply;
  try {
    const path = paths[m.encoding];
    if (typeof path !== "string") throw new Error("unknown encoding " + m.encoding);
    let enc = loaded.get(m.encoding);
    if (!enc) loaded.set(m.encoding, (enc = require(path)));
    let n = 0;
    for (const t of m.texts) n += enc.countTokens(t, opts);
    reply = { id: m.id, n };
  } catch (e) {
    reply = { id: m.id, error: String((e && e.message) || e) };
  }
  process.send(reply);
});
process.on("disconnect", () => process.exit(0));
`;

interface Pending {
  child: ChildProcess;
  resolve(n: number): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

let modulePaths: Record<EncodingName, string> | null = null;
/** Where gpt-tokenizer's CommonJS encodings are, resolved from this module (or the bundle holding it). */
function encodingPaths(): Record<EncodingName, string> {
  if (!modulePaths) {
    const require = createRequire(import.meta.url);
    modulePaths = Object.fromEntries(
      ENCODINGS.map((e) => [e, require.resolve(`gpt-tokenizer/encoding/${e}`)]),
    ) as Record<EncodingName, string>;
  }
  return modulePaths;
}

const unavailable = (why: string) =>
  new SpendlensError("UNAVAILABLE", `counting the prompt's tokens failed: ${why}; try again`);

export class TokenCounter implements TextTokenCounter {
  readonly idleMs: number;
  readonly timeoutMs: number;
  readonly maxHeapMiB: number;
  private readonly execPath: string;
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Children started so far (for tests and the bench: a new one after each idle exit). */
  started = 0;

  constructor(opts: TokenCounterOptions = {}) {
    this.idleMs = Math.max(0, opts.idleMs ?? 30_000);
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? 60_000);
    this.maxHeapMiB = Math.max(64, Math.floor(opts.maxHeapMiB ?? 512));
    this.execPath = opts.execPath ?? process.execPath;
  }

  /** The running child's pid, or null when none runs (never started, or exited when idle). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Total tokens of `texts` in `encoding`. */
  count(encoding: EncodingName, texts: string[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = this.ensureChild();
      } catch (e) {
        reject(unavailable(`the tokenizer process could not start (${(e as Error).message})`));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        p.reject(new SpendlensError("TIMEOUT", `counting the prompt's tokens ran past ${this.timeoutMs} ms`));
        // A child stuck on one text serves no one: end it; the others in flight on it fail, the next
        // request starts a new one.
        this.fail(child, unavailable("the tokenizer process was ended after another request ran too long"));
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { child, resolve, reject, timer });
      this.busy(child);
      child.send({ id, encoding, texts }, (err) => {
        if (err)
          this.fail(child, unavailable(`the tokenizer process did not take the request (${err.message})`));
      });
    });
  }

  /** Ends the child now (requests in flight fail UNAVAILABLE). */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(
      this.execPath,
      [`--max-old-space-size=${this.maxHeapMiB}`, "-e", CHILD, JSON.stringify(encodingPaths())],
      { stdio: ["ignore", "ignore", "inherit", "ipc"], serialization: "advanced" },
    );
    this.started++;
    this.child = child;
    child.on("message", (m: { id: number; n?: number; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (typeof m.n === "number") p.resolve(m.n);
      else p.reject(unavailable(m.error ?? "no answer"));
      if (this.child === child && !this.inFlight(child)) this.idle(child);
    });
    child.once("error", (e) => this.fail(child, unavailable(`the tokenizer process failed (${e.message})`)));
    child.once("exit", (code, signal) =>
      this.fail(
        child,
        unavailable(`the tokenizer process ended (${signal ? `signal ${signal}` : `exit code ${code}`})`),
      ),
    );
    return child;
  }

  private inFlight(child: ChildProcess): boolean {
    for (const p of this.pending.values()) if (p.child === child) return true;
    return false;
  }

  /** Work in flight: the channel keeps the process alive until the answers are in. */
  private busy(child: ChildProcess): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    child.ref();
    child.channel?.ref();
  }

  /** Nothing in flight: the child may not hold the process, and exits after idleMs unless asked again. */
  private idle(child: ChildProcess): void {
    child.unref();
    child.channel?.unref();
    const retire = () => {
      this.idleTimer = null;
      if (this.child !== child || this.inFlight(child)) return;
      this.child = null;
      // The child exits on disconnect: nothing it holds is kept in this process.
      if (child.connected) child.disconnect();
    };
    if (this.idleMs === 0) retire();
    else {
      this.idleTimer = setTimeout(retire, this.idleMs);
      this.idleTimer.unref();
    }
  }

  /** The child is gone or unusable: every request in flight on it fails with `err`. */
  private fail(child: ChildProcess, err: SpendlensError): void {
    if (this.child === child) {
      this.child = null;
      if (this.idleTimer) {
        clearTimeout(this.idleTimer);
        this.idleTimer = null;
      }
    }
    for (const [id, p] of this.pending) {
      if (p.child !== child) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err);
    }
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

let shared: TokenCounter | null = null;
let sharedOptions: TokenCounterOptions = {};

/**
 * Sets the options of the process-wide token counter (the server calls it at start with its settings);
 * a child already running is ended and the next count starts one with the new options.
 */
export function configureTokenCounter(opts: TokenCounterOptions): void {
  sharedOptions = { ...opts };
  const old = shared;
  shared = null;
  if (old) void old.close();
}

/** The process-wide token counter every /spend/calculate shares (one child for all requests). */
export function sharedTokenCounter(): TokenCounter {
  shared ??= new TokenCounter(sharedOptions);
  return shared;
}
