-- 0007_spend_counter_deltas: pending spend-counter increments (spend/counters.ts). Ingest appends one
-- row per entity and statement instead of updating the hot counter rows of LiteLLM's tables under row
-- locks; foldSpendCounters adds them to the counters and deletes them, and exact readers add what is still
-- pending. No primary key: rows are only appended, then taken all at once by the fold; the index serves
-- the exact reads per entity. Touches no LiteLLM table: the same in standalone and attach mode.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE TABLE spendlens.counter_deltas (
      kind text NOT NULL CHECK (kind IN ('key', 'user', 'team', 'end_user')),
      entity text NOT NULL,
      delta double precision NOT NULL
    );

CREATE INDEX counter_deltas_kind_entity_idx ON spendlens.counter_deltas (kind, entity);
