import type { Services } from "@spendlens/api";
import { rollupFreshness } from "@spendlens/core/runtime";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { StandbyReads } from "./standby.ts";

/**
 * The server's Prometheus metrics (prom-client), one registry per server: request latency per route
 * template and status, pool use per pool, rows ingested, how far derived data trails the logs, and the
 * standby's lag. Served at /metrics (server.ts; the master key, or public with SPENDLENS_METRICS_PUBLIC=1).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly latency: Histogram<"method" | "route" | "status">;
  readonly ingested: Counter<"kind">;
  readonly reads: Counter<"source" | "reason">;

  constructor(services: Services, standby: StandbyReads | null) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "spendlens_" });
    this.latency = new Histogram({
      name: "spendlens_http_request_duration_seconds",
      help: "HTTP requests by method, route template (REST path with {name} segments, /trpc/<procedure>) and status",
      labelNames: ["method", "route", "status"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.ingested = new Counter({
      name: "spendlens_ingested_rows_total",
      help: "Log rows stored by the ingest routes (duplicates not counted), by kind (spend, error)",
      labelNames: ["kind"] as const,
      registers,
    });
    this.reads = new Counter({
      name: "spendlens_read_requests_total",
      help: "Read requests by the database that answered (standby, primary) and why (standby, strong, lag, down, starting, error, none)",
      labelNames: ["source", "reason"] as const,
      registers,
    });
    const pools = () => [
      ["primary", services.handle?.pool] as const,
      ["standby", services.handle?.read?.pool] as const,
    ];
    new Gauge({
      name: "spendlens_db_pool_connections",
      help: "Postgres pool connections by pool (primary, standby) and state (total, idle, waiting: requests waiting for one)",
      labelNames: ["pool", "state"] as const,
      registers,
      collect() {
        this.reset();
        for (const [name, pool] of pools()) {
          if (!pool) continue;
          this.set({ pool: name, state: "total" }, pool.totalCount);
          this.set({ pool: name, state: "idle" }, pool.idleCount);
          this.set({ pool: name, state: "waiting" }, pool.waitingCount);
        }
      },
    });
    // Read from the primary at scrape time: one small statement for the three.
    let fresh: Promise<Awaited<ReturnType<typeof rollupFreshness>> | null> | null = null;
    const freshness = () => {
      fresh ??= rollupFreshness(services.db)
        .catch(() => null)
        .finally(() => setTimeout(() => (fresh = null), 0));
      return fresh;
    };
    new Gauge({
      name: "spendlens_counter_deltas_pending",
      help: "Spend-counter increments written by ingest and not folded into the counters yet (readers add them)",
      registers,
      async collect() {
        this.set((await freshness())?.pendingCounterDeltas ?? Number.NaN);
      },
    });
    new Gauge({
      name: "spendlens_rollup_pending_logs",
      help: "Inserted logs not folded into the rollups yet (readers on the primary fold first; a standby's answers wait for the next fold)",
      registers,
      async collect() {
        this.set((await freshness())?.pendingLogs ?? Number.NaN);
      },
    });
    new Gauge({
      name: "spendlens_rollup_dirty_days",
      help: "Rollup days marked dirty (read from the raw logs until rebuilt)",
      registers,
      async collect() {
        this.set((await freshness())?.dirtyDays ?? Number.NaN);
      },
    });
    new Gauge({
      name: "spendlens_rollup_oldest_dirty_seconds",
      help: "Age of the oldest dirty rollup day (0 when none)",
      registers,
      async collect() {
        const f = await freshness();
        this.set(f ? (f.oldestDirtySeconds ?? 0) : Number.NaN);
      },
    });
    if (standby) {
      new Gauge({
        name: "spendlens_standby_up",
        help: "1 when the standby answers and is in recovery, else 0",
        registers,
        collect() {
          const s = standby.status().status;
          this.set(s === "ok" || s === "lagging" ? 1 : 0);
        },
      });
      new Gauge({
        name: "spendlens_replication_lag_seconds",
        help: "How old the standby's data is: now minus the last instant it is complete as of (NaN when unknown)",
        registers,
        collect() {
          const l = standby.status().lag_ms;
          this.set(l === null ? Number.NaN : l / 1000);
        },
      });
      new Gauge({
        name: "spendlens_replication_lag_bytes",
        help: "WAL the primary flushed that the standby has not replayed (NaN when unknown)",
        registers,
        collect() {
          const b = standby.status().lag_bytes;
          this.set(b === null ? Number.NaN : b);
        },
      });
      new Gauge({
        name: "spendlens_replication_max_lag_seconds",
        help: "The bound past which reads go to the primary (SPENDLENS_MAX_READ_LAG_MS)",
        registers,
        collect() {
          this.set(standby.maxLagMs / 1000);
        },
      });
    }
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
