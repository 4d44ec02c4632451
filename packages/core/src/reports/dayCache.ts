import { ByteLru } from "../byteLru.ts";
import type { Db } from "../db/connect.ts";
import { perHandle } from "../db/perHandle.ts";

/**
 * Per-day answers of the spend report (a day's element of the team or customer answer), kept between
 * requests and used only when the rollup rows they were computed from are provably unchanged.
 *
 * The proof, per day, in the snapshot of the request that would use the entry: the day's
 * `detail_daily` rows number what they numbered when the entry was computed, and every one of them was
 * written by a transaction older than that computation's snapshot (`xmin` precedes the snapshot's
 * xmin, compared with age()). Every transaction older than a snapshot's xmin had ended when the
 * snapshot was taken, so each such row was already visible then; the rows now are a subset of the
 * rows then, and as many: the same row versions, hence the same numbers. Any change to a day's rollup
 * (a log written, updated or deleted, a rebuild) writes a row version with a new xmin or removes a row,
 * and fails the check. A transaction running anywhere in the cluster holds a snapshot's xmin back: rows
 * written after it began look new until it ends, and their days are computed again (never stale, only
 * not cached meanwhile). The team answer also stamps "LiteLLM_TeamTable" (aliases) the same way. Days
 * that are dirty (read from the raw logs) are never cached. Entries expire after 15 minutes (age()
 * needs both xids within 2^31 transactions of each other; and a forgotten entry costs nothing).
 *
 * Size: SPENDLENS_REPORT_CACHE_MB (default 32; 0 turns it off), least recently used first out. At 1M
 * logs the 30-day customer answer is 11 MB and the team answer 8.6 MB.
 */

export interface Stamp {
  /** Rows of the day (detail_daily) or of the team table when computed. */
  rows: number;
  /** The computing snapshot's xmin (32-bit xid, as text). */
  xmin: string;
}

export interface DayEntry {
  /** The day's element as UTF-8 JSON text (outside the JS heap); empty when the day had no rows. */
  text: Buffer;
  day: Stamp;
  teams: Stamp | null;
  at: number;
}

const TTL_MS = 15 * 60_000;

export class DayCache {
  private readonly lru: ByteLru<DayEntry>;
  /** Days answered from the cache, and days computed (and stored) instead. */
  readonly stats = { hits: 0, misses: 0 };
  constructor(readonly maxBytes: number) {
    this.lru = new ByteLru(maxBytes, (e) => e.text.length);
  }

  get(key: string, now = Date.now()): DayEntry | undefined {
    const e = this.lru.get(key);
    if (e && now - e.at > TTL_MS) {
      this.lru.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, e: DayEntry): void {
    this.lru.set(key, e);
  }

  get size(): number {
    return this.lru.bytes;
  }
}

/** The cache's size unless the server sets one (SPENDLENS_REPORT_CACHE_MB, read at the edge). */
export const DEFAULT_REPORT_CACHE_MB = 32;
const caches = perHandle<Db, DayCache | null>(() => new DayCache(DEFAULT_REPORT_CACHE_MB * 2 ** 20));

/** The cache of one database (null when turned off). */
export function reportDayCache(db: Db): DayCache | null {
  return caches.get(db);
}

/** Turns the cache of `db` off (null) or gives it a size (tests, embedding). */
export function setReportDayCache(db: Db, maxBytes: number | null): void {
  caches.set(db, maxBytes && maxBytes > 0 ? new DayCache(maxBytes) : null);
}
