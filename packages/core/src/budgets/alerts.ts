import { createHash } from "node:crypto";
import { sql } from "kysely";
import { z } from "zod";
import { now } from "../clock.ts";
import type { SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { type Periodic, startPeriodic } from "../periodic.ts";
import { foldBeforeRead } from "../rollups/fold.ts";
import { ALL, type Scope } from "../scope.ts";
import { type BudgetEntityType, type BudgetStatus, budgetStatus } from "./status.ts";

/**
 * Budget alerts as LiteLLM sends them to a webhook (its `WebhookEvent`: `CallInfo` plus `event` and
 * `event_message`), with an outbox in spendlens.budget_alerts:
 * - detection (`detectBudgetAlerts`) computes every budget's status from the logs and inserts each event
 *   whose condition holds, in the same transaction, `ON CONFLICT DO NOTHING` on its idempotency key: one
 *   row per (entity, event, budget window) however many replicas detect it;
 * - delivery (`deliverBudgetAlerts`) claims due rows with a lease (`FOR UPDATE SKIP LOCKED`), POSTs them
 *   with an `Idempotency-Key` header, marks them delivered, or schedules a retry with backoff.
 */

export type BudgetAlertEvent =
  | "threshold_crossed"
  | "soft_budget_crossed"
  | "budget_crossed"
  | "projected_limit_exceeded";

/** LiteLLM's `Litellm_EntityType` values for `event_group`. */
const EVENT_GROUP: Record<Exclude<BudgetEntityType, "provider">, string> = {
  key: "key",
  user: "user",
  team: "team",
  end_user: "end_user",
  organization: "organization",
};

/** LiteLLM's message prefixes (budget_alert_types.py). */
const PREFIX: Record<Exclude<BudgetEntityType, "provider">, string> = {
  key: "Key Budget: ",
  user: "User Budget: ",
  team: "Team Budget: ",
  end_user: "Customer Budget: ",
  organization: "Organization Budget: ",
};

/** LiteLLM's `WebhookEvent` (litellm/proxy/_types.py), every field present as its model_dump_json writes it. */
export interface WebhookEvent {
  spend: number;
  max_budget: number | null;
  soft_budget: number | null;
  token: string | null;
  customer_id: string | null;
  user_id: string | null;
  team_id: string | null;
  team_alias: string | null;
  user_email: string | null;
  key_alias: string | null;
  organization_id: string | null;
  projected_exceeded_date: string | null;
  projected_spend: number | null;
  event_group: string;
  event: BudgetAlertEvent;
  event_message: string;
}

/** Python's str() of a float, as LiteLLM's messages print budgets (10 → "10.0"). */
const pyFloat = (x: number) => (Number.isInteger(x) ? x.toFixed(1) : String(x));

export interface DetectedAlert {
  /** `threshold_crossed` fires at 85 % and at 95 %: `level` tells them apart (else the event name). */
  level: string;
  payload: WebhookEvent;
}

/**
 * The events a budget's status calls for now (LiteLLM's `_get_event_and_event_message`, each condition
 * on its own so that each fires once per window):
 * threshold_crossed at 85 % and at 95 % of max_budget, soft_budget_crossed at soft_budget, budget_crossed
 * at max_budget, projected_limit_exceeded when spend is below max_budget but the window's projected spend
 * is above it. Providers have no LiteLLM webhook event and get none.
 */
export function alertsFor(s: BudgetStatus): DetectedAlert[] {
  if (s.entity_type === "provider") return [];
  const type = s.entity_type;
  const base: Omit<WebhookEvent, "event" | "event_message"> = {
    spend: s.spend,
    max_budget: s.max_budget,
    soft_budget: s.soft_budget,
    token: type === "key" ? s.entity_id : null,
    customer_id: type === "end_user" ? s.entity_id : null,
    user_id: s.user_id,
    team_id: s.team_id,
    team_alias: type === "team" ? s.alias : null,
    user_email: s.user_email,
    key_alias: type === "key" ? s.alias : null,
    organization_id: s.organization_id,
    projected_exceeded_date: null,
    projected_spend: null,
    event_group: EVENT_GROUP[type],
  };
  const out: DetectedAlert[] = [];
  const max = s.max_budget;
  const prefix = PREFIX[type];
  if (max !== null && max > 0 && s.spend >= 0.85 * max) {
    out.push({
      level: "threshold_crossed_85",
      payload: { ...base, event: "threshold_crossed", event_message: `${prefix}15% Threshold Crossed` },
    });
  }
  if (max !== null && max > 0 && s.spend >= 0.95 * max) {
    out.push({
      level: "threshold_crossed_95",
      payload: { ...base, event: "threshold_crossed", event_message: `${prefix}5% Threshold Crossed ` },
    });
  }
  if (s.soft_budget !== null && s.spend >= s.soft_budget) {
    out.push({
      level: "soft_budget_crossed",
      payload: {
        ...base,
        event: "soft_budget_crossed",
        event_message: `Soft Budget Crossed: Total Soft Budget:\`${pyFloat(s.soft_budget)}\``,
      },
    });
  }
  if (max !== null && s.spend >= max) {
    out.push({
      level: "budget_crossed",
      payload: {
        ...base,
        event: "budget_crossed",
        event_message: `${prefix}Budget Crossed\n Total Budget:\`${pyFloat(max)}\``,
      },
    });
  }
  if (max !== null && s.spend < max && s.projected_spend !== null && s.projected_spend > max) {
    out.push({
      level: "projected_limit_exceeded",
      payload: {
        ...base,
        projected_spend: s.projected_spend,
        projected_exceeded_date: s.projected_exhausted_at?.slice(0, 10) ?? null,
        event: "projected_limit_exceeded",
        event_message: `${prefix}Projected Limit Exceeded`,
      },
    });
  }
  return out;
}

/** The stable key of one (entity, event level, budget window): the outbox's unique key and the header. */
export function alertIdempotencyKey(type: string, id: string, level: string, windowStart: string): string {
  return createHash("sha256")
    .update(JSON.stringify([type, id, level, windowStart]))
    .digest("hex");
}

/** Whether the config asks for budget webhooks (general_settings.alerting lists `webhook`). */
export function budgetWebhooksEnabled(config: Pick<SpendlensConfig, "alerting" | "alertTypes">): boolean {
  if (!(config.alerting ?? []).includes("webhook")) return false;
  return config.alertTypes == null || config.alertTypes.includes("budget_alerts");
}

/**
 * Detects budget events and writes the new ones to the outbox, in one transaction. Returns how many rows
 * it inserted (events detected before, by this or another replica, are not inserted again).
 */
export async function detectBudgetAlerts(
  db: Db,
  config: Pick<SpendlensConfig, "providerBudgets" | "modelList">,
): Promise<number> {
  // The status is read inside the transaction below, where no fold runs: fold the pending logs first.
  await foldBeforeRead(db);
  const run = async (tx: Db) => {
    const { budgets } = await budgetStatus(tx, ALL, config, {}, { persist: true });
    const at = now().toISOString();
    const rows: {
      key: string;
      type: string;
      id: string;
      event: string;
      window: string;
      payload: string;
    }[] = [];
    for (const s of budgets) {
      const window = s.window_start ?? "lifetime";
      for (const a of alertsFor(s)) {
        rows.push({
          key: alertIdempotencyKey(s.entity_type, s.entity_id, a.level, window),
          type: s.entity_type,
          id: s.entity_id,
          event: a.level,
          window,
          payload: JSON.stringify(a.payload),
        });
      }
    }
    if (!rows.length) return 0;
    const r = await sql<{ n: number }>`WITH ins AS (
        INSERT INTO spendlens.budget_alerts
          (idempotency_key, entity_type, entity_id, event, window_start, payload, created_at, next_attempt_at)
        SELECT k, t, i, e, w, p::jsonb, ${at}::timestamp(3), ${at}::timestamp(3)
        FROM unnest(${rows.map((x) => x.key)}::text[], ${rows.map((x) => x.type)}::text[],
          ${rows.map((x) => x.id)}::text[], ${rows.map((x) => x.event)}::text[],
          ${rows.map((x) => x.window)}::text[], ${rows.map((x) => x.payload)}::text[]) AS v(k, t, i, e, w, p)
        ORDER BY k
        ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1)
      SELECT count(*)::int AS n FROM ins`.execute(tx);
    return r.rows[0]?.n ?? 0;
  };
  return db.isTransaction ? run(db) : db.transaction().execute((tx) => run(tx as Db));
}

export interface DeliveryOptions {
  /** WEBHOOK_URL (read from the environment by the server, never here). */
  url: string;
  /** How long a claimed row stays claimed (a crashed sender's rows are retried after it). Default 30 s. */
  leaseMs?: number;
  /** Retry delay: base × 2^(attempts − 1), at most maxBackoffMs. Defaults 1 s and 5 min. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Rows claimed per round. Default 20. */
  batch?: number;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
}

export interface DeliveryResult {
  delivered: number;
  failed: number;
}

/**
 * Delivers due outbox rows once: claims up to `batch` rows (`FOR UPDATE SKIP LOCKED`, then a lease, so a
 * replica never picks a row another one holds), POSTs each (`Idempotency-Key` header; any 2xx is
 * delivered), then marks it delivered or schedules its retry. A sender that dies between the POST and the
 * mark leaves the row leased; it is sent again once the lease ends, with the same Idempotency-Key.
 */
export async function deliverBudgetAlerts(db: Db, opts: DeliveryOptions): Promise<DeliveryResult> {
  const at = now().getTime();
  const lease = new Date(at + (opts.leaseMs ?? 30_000)).toISOString();
  const claimed = await sql<{ id: string; idempotency_key: string; payload: string; attempts: number }>`
    UPDATE spendlens.budget_alerts a SET lease_until = ${lease}::timestamp(3), attempts = a.attempts + 1
    WHERE a.id IN (SELECT id FROM spendlens.budget_alerts
      WHERE delivered_at IS NULL AND next_attempt_at <= ${new Date(at).toISOString()}::timestamp(3)
        AND (lease_until IS NULL OR lease_until <= ${new Date(at).toISOString()}::timestamp(3))
      ORDER BY next_attempt_at, id LIMIT ${opts.batch ?? 20} FOR UPDATE SKIP LOCKED)
    RETURNING a.id::text AS id, a.idempotency_key, a.payload::text AS payload, a.attempts`.execute(db);
  const res: DeliveryResult = { delivered: 0, failed: 0 };
  for (const row of claimed.rows.sort((a, b) => Number(a.id) - Number(b.id))) {
    let error: string | null = null;
    try {
      const r = await fetch(opts.url, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": row.idempotency_key },
        body: row.payload,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      await r.arrayBuffer().catch(() => undefined);
      if (r.status < 200 || r.status > 299) error = `HTTP ${r.status}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    if (error === null) {
      await sql`UPDATE spendlens.budget_alerts SET delivered_at = ${now().toISOString()}::timestamp(3),
          lease_until = NULL, last_error = NULL
        WHERE id = ${row.id}::int8`.execute(db);
      res.delivered += 1;
    } else {
      const base = opts.backoffMs ?? 1_000;
      const delay = Math.min(base * 2 ** Math.min(row.attempts - 1, 30), opts.maxBackoffMs ?? 300_000);
      await sql`UPDATE spendlens.budget_alerts SET lease_until = NULL, last_error = ${error.slice(0, 500)},
          next_attempt_at = ${new Date(now().getTime() + delay).toISOString()}::timestamp(3)
        WHERE id = ${row.id}::int8 AND delivered_at IS NULL`.execute(db);
      res.failed += 1;
    }
  }
  return res;
}

export interface BudgetAlerterOptions extends DeliveryOptions {
  /** How often budgets are checked and the outbox is drained. Default 2 s. */
  pollMs?: number;
  /** Told about a failed round (the loop keeps going). */
  onError?: (e: unknown) => void;
}

/** `tick()`: one detection and delivery round now (also what the timer runs). */
export type BudgetAlerter = Periodic;

/**
 * Runs detection and delivery every `pollMs` until stopped: spend that LiteLLM writes straight into the
 * table is seen within one poll. Rounds never overlap.
 */
export function startBudgetAlerter(
  db: Db,
  config: Pick<SpendlensConfig, "providerBudgets" | "modelList">,
  opts: BudgetAlerterOptions,
): BudgetAlerter {
  return startPeriodic(
    async (stopped) => {
      await detectBudgetAlerts(db, config);
      for (;;) {
        const r = await deliverBudgetAlerts(db, opts);
        if (r.delivered + r.failed < (opts.batch ?? 20) || stopped()) break;
      }
    },
    opts.pollMs ?? 2_000,
    opts.onError,
  );
}

export interface BudgetAlertRow {
  id: number;
  idempotency_key: string;
  entity_type: string;
  entity_id: string;
  /** The event and, for threshold_crossed, its level (`threshold_crossed_85`, `threshold_crossed_95`). */
  event: string;
  /** The budget window the event belongs to (its start, or `lifetime`). */
  window_start: string;
  payload: WebhookEvent;
  created_at: string;
  attempts: number;
  next_attempt_at: string;
  delivered_at: string | null;
  last_error: string | null;
}

export const budgetAlertsInput = z
  .object({
    status: z.enum(["pending", "delivered", "all"]).default("all"),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strip();

/** GET /budget/alerts: the outbox, newest first (admins only: it names every entity). */
export async function listBudgetAlerts(
  db: Db,
  _scope: Scope,
  input: z.input<typeof budgetAlertsInput> = {},
): Promise<{ alerts: BudgetAlertRow[] }> {
  const q = budgetAlertsInput.parse(input);
  const rows = await db
    .selectFrom("spendlens.budget_alerts")
    .select([
      sql<number>`id::int`.as("id"),
      "idempotency_key",
      "entity_type",
      "entity_id",
      "event",
      "window_start",
      "payload",
      "created_at",
      "attempts",
      "next_attempt_at",
      "delivered_at",
      "last_error",
    ])
    .$if(q.status === "pending", (b) => b.where("delivered_at", "is", null))
    .$if(q.status === "delivered", (b) => b.where("delivered_at", "is not", null))
    .orderBy("spendlens.budget_alerts.id", "desc")
    .limit(q.limit)
    .execute();
  return { alerts: rows as BudgetAlertRow[] };
}
