import { useQuery } from "@tanstack/react-query";
import type { AnalyticsAnswer } from "./api.ts";
import { httpStatusOf, providerBudgetsOptions } from "./api.ts";
import { useAuth } from "./auth.ts";
import { ENTITIES, KIND_OF_DIM, useKeyNames, useTeamNames } from "./entities.ts";
import { dateTimeIn, percent } from "./format.ts";
import { ViewLink } from "./link.tsx";
import { type Col, type CsvSource, DataTable, daysOf, Panel, pivot, SeriesChart } from "./ui.tsx";
import type { View } from "./view.ts";

export type Row = Record<string, string | number | null> & {
  requests: number;
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
};

export const rowsOf = (a: AnalyticsAnswer) => a.rows as unknown as Row[];

const MEASURES = ["requests", "spend", "prompt_tokens", "completion_tokens", "total_tokens"];

/** CSV of an analytics answer: its dimensions in order, then the measures. */
export function analyticsCsv(name: string, dims: string[]) {
  return (a: AnalyticsAnswer): CsvSource => ({
    name,
    columns: [
      ...dims.flatMap((d) => (["hour", "day", "week", "month"].includes(d) ? [d, "bucket_start"] : [d])),
      ...MEASURES,
    ],
    rows: a.rows as unknown as Record<string, unknown>[],
  });
}

const DIM_LABEL: Record<string, string> = {
  api_key: "Key",
  user: "User",
  team: "Team",
  end_user: "Customer",
  model: "Model",
  model_group: "Model group",
  provider: "Provider",
  tag: "Tag",
  api_base: "Deployment (api_base)",
  organization: "Organization",
};
export const dimLabel = (d: string) => DIM_LABEL[d] ?? d;

/** The name cell of a dimension value: a link to its entity page where there is one. */
export function DimValue(props: { dim: string; value: string | number | null }) {
  const keyName = useKeyNames();
  const teamName = useTeamNames();
  const { dim, value } = props;
  if (value === null || value === "") return <span className="muted">(none)</span>;
  const text =
    dim === "api_key" ? keyName(String(value)) : dim === "team" ? teamName(String(value)) : String(value);
  const kind = KIND_OF_DIM[dim];
  if (!kind) return <span title={String(value)}>{text}</span>;
  return (
    <ViewLink to={`/${kind}/${encodeURIComponent(String(value))}`} className="name">
      <span title={String(value)}>{text}</span>
    </ViewLink>
  );
}

/** Columns for rows grouped by one dimension: the name, then spend, requests and tokens. */
export function dimCols(dim: string): Col<Row>[] {
  return [
    {
      id: dim,
      header: dimLabel(dim),
      value: (r) => r[dim] ?? null,
      render: (r) => <DimValue dim={dim} value={r[dim] ?? null} />,
    },
    { id: "spend", header: "Spend", value: (r) => r.spend, kind: "money" },
    { id: "requests", header: "Requests", value: (r) => r.requests, kind: "int" },
    { id: "total_tokens", header: "Tokens", value: (r) => r.total_tokens, kind: "int" },
  ];
}

/** Spend (or another measure) per day of the view, stacked by one dimension. */
export function StackedDaily(props: {
  a: AnalyticsAnswer;
  view: View;
  dim: string;
  measure: "spend" | "requests" | "total_tokens";
  testId?: string;
}) {
  const days = daysOf(props.view.from, props.view.to);
  const series = pivot(rowsOf(props.a), days, "day", props.dim, props.measure);
  return (
    <SeriesChart
      labels={days}
      series={series}
      stacked
      kind={props.measure === "spend" ? "money" : "int"}
      testId={props.testId}
    />
  );
}

export function ProviderBudgetsPanel(props: { tz: string }) {
  const { client } = useAuth();
  const q = useQuery({
    ...providerBudgetsOptions(client),
    // No provider budgets configured is an empty panel, not an error.
    queryFn: async () => {
      try {
        return await client.budgets.providerBudgets.query();
      } catch (e) {
        if (httpStatusOf(e) === 400) return { providers: {} };
        throw e;
      }
    },
  });
  type B = {
    provider: string;
    spend: number;
    budget_limit: number;
    time_period: string;
    budget_reset_at: string | null;
    used: number;
  };
  const rowsOfQ = (d: NonNullable<typeof q.data>): B[] =>
    Object.entries(d.providers).map(([provider, b]) => ({
      provider,
      spend: b.spend,
      budget_limit: b.budget_limit,
      time_period: b.time_period,
      budget_reset_at: b.budget_reset_at,
      used: b.budget_limit > 0 ? b.spend / b.budget_limit : 0,
    }));
  const cols: Col<B>[] = [
    { id: "provider", header: "Provider", value: (r) => r.provider },
    ...usedCols<B>({ limit: "budget_limit", used: "used", frac: (r) => r.used }),
    { id: "time_period", header: "Window", value: (r) => r.time_period },
    {
      id: "budget_reset_at",
      header: `Resets (${props.tz})`,
      value: (r) => r.budget_reset_at,
      render: (r) => (r.budget_reset_at ? dateTimeIn(r.budget_reset_at, props.tz) : "—"),
    },
  ];
  return (
    <Panel
      title="Provider budgets (current window)"
      testId="provider-budgets"
      q={q}
      isEmpty={(d) => Object.keys(d.providers).length === 0}
      emptyText="No provider budgets are configured (router_settings.provider_budget_config)."
      csv={(d) => ({
        name: "provider-budgets",
        columns: ["provider", "spend", "budget_limit", "time_period", "budget_reset_at"],
        rows: rowsOfQ(d),
      })}
    >
      {(d) => <DataTable cols={cols} rows={rowsOfQ(d)} initialSort={{ id: "used", desc: true }} />}
    </Panel>
  );
}

/**
 * A budget's three columns: what it used (`spend`), its limit (the field `limit`) and the share used
 * (the field `used`, drawn as a meter of `frac`; "—" without one).
 */
export function usedCols<R extends { spend: number }>(o: {
  limit: keyof R & string;
  used: keyof R & string;
  frac: (r: R) => number | null;
}): Col<R>[] {
  return [
    { id: "spend", header: "Used", value: (r) => r.spend, kind: "money" },
    { id: o.limit, header: "Limit", value: (r) => r[o.limit] as number | null, kind: "money" },
    {
      id: o.used,
      header: "Used %",
      value: (r) => r[o.used] as number | null,
      kind: "int",
      render: (r) => {
        const frac = o.frac(r);
        return frac === null ? "—" : <Meter frac={frac} />;
      },
    },
  ];
}

export function Meter(props: { frac: number }) {
  const f = Math.max(0, props.frac);
  return (
    <span className="meter" title={percent(f)}>
      <span
        className={f >= 1 ? "bar over" : f >= 0.8 ? "bar warn" : "bar"}
        style={{ width: `${Math.min(100, f * 100)}%` }}
      />
      <span className="meter-text">{percent(f)}</span>
    </span>
  );
}

export function entityLabel(kind: keyof typeof ENTITIES) {
  return ENTITIES[kind].one;
}
