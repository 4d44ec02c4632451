import type { Caller, Role } from "@spendlens/core";
import { TokenBucket } from "limiter";

/**
 * The server's protections against exhaustion (docs/security.md, README "Configuration"): a per-key
 * token bucket, a cap on heavy queries running at once with a bounded queue, a deadline per request,
 * and body size limits. Read once from the environment at the edge (`limitsFromEnv`), passed to
 * `startServer`; nothing below packages/core reads the environment.
 */

/** Requests per second and burst of one key's token bucket. */
export interface RateRule {
  perSecond: number;
  burst: number;
}

/** Who a rule applies to: a virtual key's role, or the master key. */
export type RateSubject = Role | "master";

export interface Limits {
  /** Per role (and the master key); null or absent: no limit. */
  rate: Partial<Record<RateSubject, RateRule | null>>;
  /** Heavy procedures (meta.heavy) running at once. */
  heavyConcurrency: number;
  /** Heavy requests waiting for a slot; one more is a 503. */
  heavyQueue: number;
  /** A request's whole life (queue wait + query + answer) before a 504; 0: none. */
  requestTimeoutMs: number;
  /** Largest request body, in bytes, for everything but ingest. */
  maxBodyBytes: number;
  /** Largest request body for the ingest routes and procedures (meta.largeBody): 1000 logs. */
  maxIngestBodyBytes: number;
}

const ROLES: RateSubject[] = [
  "proxy_admin",
  "proxy_admin_viewer",
  "internal_user",
  "internal_user_viewer",
  "master",
];

/** The defaults `spendlens serve` applies (the environment overrides each). */
export const DEFAULT_LIMITS: Limits = {
  rate: {
    proxy_admin: { perSecond: 50, burst: 100 },
    proxy_admin_viewer: { perSecond: 20, burst: 40 },
    internal_user: { perSecond: 10, burst: 20 },
    internal_user_viewer: { perSecond: 10, burst: 20 },
    master: null,
  },
  heavyConcurrency: 2,
  heavyQueue: 32,
  requestTimeoutMs: 30_000,
  maxBodyBytes: 64 * 1024,
  maxIngestBodyBytes: 16 * 1024 * 1024,
};

/**
 * What `startServer` applies when it is given no limits (tests, embedding): the same caps, deadline and
 * body limits, but no rate limit (a test suite's bursts are not an attack).
 */
export const UNRATED_LIMITS: Limits = { ...DEFAULT_LIMITS, rate: {} };

class LimitsConfigError extends Error {}

function parseRule(name: string, v: string): RateRule | null {
  const t = v.trim().toLowerCase();
  if (t === "off" || t === "0" || t === "none") return null;
  const m = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(t);
  const perSecond = m ? Number(m[1]) : Number.NaN;
  const burst = m?.[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(perSecond));
  if (!m || !(perSecond > 0) || !Number.isInteger(burst) || burst < 1) {
    throw new LimitsConfigError(
      `${name} must be <requests per second>:<burst> (e.g. 10:20) or off, got ${v}`,
    );
  }
  return { perSecond, burst };
}

function wholeSetting(name: string, v: string | undefined, fallback: number, min: number): number {
  if (v === undefined || v.trim() === "") return fallback;
  const n = Number(v.replaceAll("_", ""));
  if (!Number.isInteger(n) || n < min)
    throw new LimitsConfigError(`${name} must be a whole number ≥ ${min}, got ${v}`);
  return n;
}

/**
 * SPENDLENS_RATE_LIMIT_<ROLE> (PROXY_ADMIN, PROXY_ADMIN_VIEWER, INTERNAL_USER, INTERNAL_USER_VIEWER,
 * MASTER) = `<per second>:<burst>` or `off`; SPENDLENS_HEAVY_CONCURRENCY, SPENDLENS_HEAVY_QUEUE,
 * SPENDLENS_REQUEST_TIMEOUT_MS, SPENDLENS_MAX_BODY_BYTES, SPENDLENS_MAX_INGEST_BODY_BYTES.
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv, base: Limits = DEFAULT_LIMITS): Limits {
  const rate: Limits["rate"] = { ...base.rate };
  for (const r of ROLES) {
    const name = `SPENDLENS_RATE_LIMIT_${r.toUpperCase()}`;
    const v = env[name];
    if (v !== undefined && v.trim() !== "") rate[r] = parseRule(name, v);
  }
  return {
    rate,
    heavyConcurrency: wholeSetting(
      "SPENDLENS_HEAVY_CONCURRENCY",
      env.SPENDLENS_HEAVY_CONCURRENCY,
      base.heavyConcurrency,
      1,
    ),
    heavyQueue: wholeSetting("SPENDLENS_HEAVY_QUEUE", env.SPENDLENS_HEAVY_QUEUE, base.heavyQueue, 0),
    requestTimeoutMs: wholeSetting(
      "SPENDLENS_REQUEST_TIMEOUT_MS",
      env.SPENDLENS_REQUEST_TIMEOUT_MS,
      base.requestTimeoutMs,
      0,
    ),
    maxBodyBytes: wholeSetting(
      "SPENDLENS_MAX_BODY_BYTES",
      env.SPENDLENS_MAX_BODY_BYTES,
      base.maxBodyBytes,
      1024,
    ),
    maxIngestBodyBytes: wholeSetting(
      "SPENDLENS_MAX_INGEST_BODY_BYTES",
      env.SPENDLENS_MAX_INGEST_BODY_BYTES,
      base.maxIngestBodyBytes,
      1024,
    ),
  };
}

export { LimitsConfigError };

/** Buckets kept at most; idle full buckets are dropped first, so a flood of keys cannot grow memory. */
const MAX_BUCKETS = 100_000;

/**
 * Per-key token buckets (the `limiter` package's TokenBucket), keyed by the key's hash (never the raw
 * key); the master key, which has no hash, is one bucket. Per process: with N replicas a key gets N×
 * the rate.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(private readonly rules: Limits["rate"]) {}

  /** null: allowed; otherwise the seconds after which one request will be allowed again. */
  take(caller: Caller, cost = 1): number | null {
    const subject: RateSubject = caller.keyHash === null ? "master" : caller.role;
    const rule = this.rules[subject];
    if (!rule) return null;
    const id = `${subject}:${caller.keyHash ?? ""}`;
    let b = this.buckets.get(id);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.evict();
      b = new TokenBucket({ bucketSize: rule.burst, tokensPerInterval: rule.perSecond, interval: "second" });
      b.content = rule.burst; // a new key starts with its whole burst (the package starts empty)
      this.buckets.set(id, b);
    }
    const n = Math.min(cost, rule.burst);
    if (b.tryRemoveTokens(n)) return null;
    return Math.max(1, Math.ceil(b.getWaitTime(n) / 1000));
  }

  private evict(): void {
    for (const [id, b] of this.buckets) {
      b.drip();
      if (b.content >= b.bucketSize) this.buckets.delete(id);
    }
    // All busy: drop the oldest half rather than grow without bound.
    if (this.buckets.size >= MAX_BUCKETS) {
      let n = this.buckets.size / 2;
      for (const id of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(id);
      }
    }
  }
}

/** The heavy queue is full: answered 503 with Retry-After. */
export class QueueFullError extends Error {}

/**
 * Admission for heavy queries: at most `concurrency` run, at most `queue` wait (in arrival order), the
 * rest are refused at once. A waiter whose signal aborts (deadline, client gone) leaves the queue.
 */
export class HeavyGate {
  private running = 0;
  private readonly waiting: { start: () => void; abort: () => void }[] = [];
  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  get stats() {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Resolves with a release function once the caller may run; rejects with QueueFullError or the abort reason. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.running < this.concurrency) {
      this.running += 1;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.queue)
      return Promise.reject(new QueueFullError("too many heavy queries"));
    return new Promise((resolve, reject) => {
      const w = {
        start: () => {
          signal.removeEventListener("abort", w.abort);
          this.running += 1;
          resolve(this.releaser());
        },
        abort: () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", w.abort, { once: true });
      this.waiting.push(w);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.running -= 1;
      this.waiting.shift()?.start();
    };
  }
}
