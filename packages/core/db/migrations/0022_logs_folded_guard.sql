-- 0022_logs_folded_guard: one round trip for a report over the rollups instead of two.
--
-- Every reader of the spend rollups made the fold call first (`SELECT spendlens.rollups_fold(…)`, one
-- round trip, nothing to do when no log is pending) and then its report. A report's statement may
-- instead carry `spendlens.logs_folded()` as a condition of its own (evaluated once, in the statement's
-- own snapshot, before any row): it answers true when no inserted log waits for a fold, so the rollups
-- the statement reads hold every log committed before its snapshot (the fold deletes a log's pending
-- row and adds it to the rollups in one transaction), and otherwise raises SQLSTATE 'SLF01'. The caller
-- then folds and runs the report without the condition, as before (rollups/query.ts, rollups/fold.ts).
-- STABLE: its query reads the calling statement's snapshot, never a later one.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE OR REPLACE FUNCTION spendlens.logs_folded() RETURNS boolean LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM spendlens.spend_log_pending) THEN
    RAISE EXCEPTION 'spend logs are waiting for a fold' USING ERRCODE = 'SLF01';
  END IF;
  RETURN true;
END $fn$;
