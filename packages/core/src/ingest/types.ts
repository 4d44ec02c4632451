/** What an ingest call answers, and its batch limit. */
/** Most rows one ingest call takes. */
export const MAX_INGEST_BATCH = 1000;

export interface IngestConflict {
  request_id: string;
  /** The columns whose stored value differs from the row sent. */
  fields: string[];
}

export interface IngestInvalidRow {
  /** Position of the row in `logs` (0-based). */
  index: number;
  request_id: string | null;
  /** The row's field at fault (e.g. `spend`), or null for the row as a whole. */
  field: string | null;
  reason: string;
}

export interface IngestResult {
  received: number;
  /** Rows newly stored (and counted). */
  inserted: number;
  /** request_ids already stored with the same content: counted once, nothing changed. */
  duplicates: string[];
  /** request_ids already stored with different content: nothing changed. */
  conflicts: IngestConflict[];
  /** Rows that failed validation, by index; the other rows were stored. */
  invalid: IngestInvalidRow[];
}

export interface SpendIngestResult extends IngestResult {
  /** Sum of the spend of the rows inserted (what the counters were incremented by). */
  spend_added: number;
  /** Spend added to each provider's current budget window. */
  provider_spend_added: Record<string, number>;
}
