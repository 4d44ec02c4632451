import { type Migration, sql } from "kysely";

/**
 * 0007_spend_counter_deltas: pending spend-counter increments (spend/counters.ts). Ingest appends one row
 * per entity and statement instead of updating the hot counter rows of LiteLLM's tables under row locks
 * (which deadlocked across replicas and with LiteLLM's own spend writer); `foldSpendCounters` adds them
 * to the counters and deletes them, and exact readers add what is still pending. No primary key: rows are
 * only appended, then taken all at once by the fold; the index serves the exact reads per entity.
 * Touches no LiteLLM table: the same in standalone and attach mode.
 *
 * FROZEN once shipped.
 */
export const m0007_spend_counter_deltas: Migration = {
  async up(db) {
    await sql`CREATE TABLE spendlens.counter_deltas (
      kind text NOT NULL CHECK (kind IN ('key', 'user', 'team', 'end_user')),
      entity text NOT NULL,
      delta double precision NOT NULL
    )`.execute(db);
    await sql`CREATE INDEX counter_deltas_kind_entity_idx ON spendlens.counter_deltas (kind, entity)`.execute(
      db,
    );
  },
};
