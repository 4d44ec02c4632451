import type { Db } from "@spendlens/core";
import {
  lsnBytes,
  primaryFlushLsn,
  type ReadHandle,
  type ReplayPosition,
  replayPosition,
} from "@spendlens/core/runtime";

/**
 * Reads from a hot standby (a streaming replica of the primary, `DATABASE_READ_URL`).
 *
 * How stale a standby is, measured: every `pollMs` the server samples the primary's flushed WAL position
 * (`pg_current_wal_flush_lsn()`, read at time t: every transaction acknowledged before t committed at or
 * before it) and keeps the samples of the last `maxLagMs` + 10 s. A standby that replayed up to r holds
 * everything the primary had at the latest sample t whose position is <= r: its answers are complete
 * "as of" t, and its lag is now − t. So the lag is an upper bound, to within one poll interval (a
 * standby that is caught up shows up to `pollMs` plus a round trip), and does not grow while the primary
 * is idle (unlike now() − pg_last_xact_replay_timestamp()).
 *
 * Per read request the standby's position is read again (`pg_last_wal_replay_lsn()`, before the
 * request's queries: the standby only moves forward, so the answer is at least that fresh): a standby
 * that does not answer, is no longer in recovery, or is more than `maxLagMs` behind sends the request to
 * the primary, with no error to the caller.
 */

export interface StandbyOptions {
  /** Reads go to the primary when the standby is further behind (ms). Default 10000. */
  maxLagMs?: number;
  /** How often the primary's WAL position and the standby's replay are sampled (ms). Default 250. */
  pollMs?: number;
  /** How long a standby may take to say where it is before the request goes to the primary (ms). Default 1000. */
  probeTimeoutMs?: number;
}

export type StandbyState = "ok" | "lagging" | "down" | "starting" | "not_standby";

/** What /healthz and /metrics say about the standby. */
export interface StandbyStatus {
  status: StandbyState;
  /** now − as_of, in ms; null when unknown (down, starting). */
  lag_ms: number | null;
  /** The primary's last sampled position minus the standby's replay position, in bytes. */
  lag_bytes: number | null;
  replay_lsn: string | null;
  /** pg_last_xact_replay_timestamp(): commit time of the last transaction replayed. */
  replayed_at: string | null;
  /** The standby's answers hold every write acknowledged before this instant. */
  as_of: string | null;
  max_lag_ms: number;
}

/** Where a read request goes, and why. */
export interface ReadChoice {
  /** Set when the standby answers. */
  standby: { db: Db; lsn: string; replayedAt: string | null; asOf: string; lagMs: number } | null;
  /** standby; or why the primary answers: asked for it, standby too far behind, down, not measured yet. */
  reason: "standby" | "strong" | "lag" | "down" | "starting";
}

interface Sample {
  t: number;
  lsn: number;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("standby did not answer in time")), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class StandbyReads {
  readonly maxLagMs: number;
  readonly pollMs: number;
  private readonly probeTimeoutMs: number;
  private samples: Sample[] = [];
  private last: { pos: ReplayPosition; at: number } | null = null;
  private down = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private ticking: Promise<void> | null = null;

  constructor(
    private readonly primary: Db,
    readonly read: ReadHandle,
    opts: StandbyOptions = {},
    private readonly onError: (what: string, e: unknown) => void = () => {},
  ) {
    this.maxLagMs = opts.maxLagMs ?? 10_000;
    this.pollMs = opts.pollMs ?? 250;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 1_000;
  }

  /** Starts sampling (the first sample at once); the timer does not keep the process alive. */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
        if (this.stopped) return;
        this.timer = setTimeout(loop, this.pollMs);
        this.timer.unref?.();
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }

  /** One sample of the primary, then one of the standby. */
  async tick(): Promise<void> {
    const t = Date.now();
    try {
      const lsn = lsnBytes(await primaryFlushLsn(this.primary));
      this.samples.push({ t, lsn });
      const keep = t - this.maxLagMs - 10_000;
      let drop = 0;
      while (drop < this.samples.length - 1 && this.samples[drop + 1]!.t < keep) drop++;
      if (drop) this.samples.splice(0, drop);
    } catch (e) {
      // The primary down: the standby's lag cannot be measured; reads fail over to... the primary, which
      // answers 503 as it would without a standby.
      this.onError("sampling the primary's WAL position failed", e);
    }
    try {
      this.observe(await withTimeout(replayPosition(this.read.db), this.probeTimeoutMs));
    } catch (e) {
      if (!this.down) this.onError("the standby is unreachable: reads go to the primary", e);
      this.down = true;
    }
  }

  private observe(pos: ReplayPosition): void {
    this.last = { pos, at: Date.now() };
    this.down = false;
  }

  /** As of when a standby at `lsn` is complete, and its lag at `now` (ms); null when not measurable. */
  private measure(lsn: string, now: number): { asOf: number; lagMs: number; lagBytes: number } | null {
    const r = lsnBytes(lsn);
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const s = this.samples[i]!;
      if (s.lsn <= r) {
        const latest = this.samples.at(-1)!;
        return { asOf: s.t, lagMs: Math.max(0, now - s.t), lagBytes: Math.max(0, latest.lsn - r) };
      }
    }
    return null;
  }

  status(now = Date.now()): StandbyStatus {
    const base = { max_lag_ms: this.maxLagMs };
    const pos = this.last?.pos;
    if (!pos)
      return {
        ...base,
        status: this.down ? "down" : "starting",
        lag_ms: null,
        lag_bytes: null,
        replay_lsn: null,
        replayed_at: null,
        as_of: null,
      };
    const m = pos.lsn ? this.measure(pos.lsn, now) : null;
    const state: StandbyState = this.down
      ? "down"
      : !pos.recovery || !pos.lsn
        ? "not_standby"
        : !m
          ? "starting"
          : m.lagMs > this.maxLagMs
            ? "lagging"
            : "ok";
    return {
      ...base,
      status: state,
      lag_ms: this.down || !m ? null : m.lagMs,
      lag_bytes: this.down || !m ? null : m.lagBytes,
      replay_lsn: pos.lsn,
      replayed_at: pos.replayedAt,
      as_of: this.down || !m ? null : new Date(m.asOf).toISOString(),
    };
  }

  /**
   * Where one read request goes. `strong`: the caller asked for the primary. Otherwise the standby's
   * position is read now; the standby answers when it is reachable, in recovery, and within the bound.
   */
  async choose(strong: boolean): Promise<ReadChoice> {
    if (strong) return { standby: null, reason: "strong" };
    if (this.down) return { standby: null, reason: "down" };
    // Last seen out of recovery (promoted, or DATABASE_READ_URL naming a primary): not a standby, so the
    // request is not held up asking it again; the next sample (every pollMs) looks again.
    if (this.last && !this.last.pos.recovery) return { standby: null, reason: "down" };
    let pos: ReplayPosition;
    try {
      pos = await withTimeout(replayPosition(this.read.db), this.probeTimeoutMs);
    } catch (e) {
      this.markDown(e);
      return { standby: null, reason: "down" };
    }
    this.observe(pos);
    if (!pos.recovery || !pos.lsn) return { standby: null, reason: "down" };
    const now = Date.now();
    const m = this.measure(pos.lsn, now);
    if (!m) return { standby: null, reason: "starting" };
    if (m.lagMs > this.maxLagMs) return { standby: null, reason: "lag" };
    return {
      standby: {
        db: this.read.db,
        lsn: pos.lsn,
        replayedAt: pos.replayedAt,
        asOf: new Date(m.asOf).toISOString(),
        lagMs: m.lagMs,
      },
      reason: "standby",
    };
  }

  /** The standby failed a request (unreachable, shut down): reads go to the primary until the next sample finds it. */
  markDown(e: unknown): void {
    if (!this.down) this.onError("the standby failed a read: reads go to the primary", e);
    this.down = true;
  }
}
