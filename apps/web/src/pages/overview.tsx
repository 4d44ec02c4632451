import { useQueries, useQuery } from "@tanstack/react-query";
import { type AnalyticsInput, analyticsOptions, type DimName } from "../api.ts";
import { useAuth } from "../auth.ts";
import {
  analyticsCsv,
  dimCols,
  dimLabel,
  ProviderBudgetsPanel,
  type Row,
  rowsOf,
  StackedDaily,
} from "../panels.tsx";
import { DataTable, Panel, Stat } from "../ui.tsx";
import { analyticsWindow, useParamSetter, useView } from "../view.ts";

const TOP: DimName[] = ["api_key", "model_group", "team", "tag", "provider"];
export const TOP_N = 10;

export function Totals(props: { input: AnalyticsInput; testId: string }) {
  const { client } = useAuth();
  const q = useQuery(analyticsOptions(client, props.input));
  return (
    <Panel title="Totals" testId={props.testId} q={q} wide csv={analyticsCsv("totals", [])}>
      {(a) => {
        const r = (rowsOf(a)[0] ?? { spend: 0, requests: 0, total_tokens: 0 }) as Row;
        return (
          <div className="stats">
            <Stat label="Spend" value={r.spend} kind="money" testId="total-spend" />
            <Stat label="Requests" value={r.requests} kind="int" testId="total-requests" />
            <Stat label="Tokens" value={r.total_tokens} kind="int" testId="total-tokens" />
            <Stat
              label="Avg per request"
              value={r.requests ? r.spend / r.requests : 0}
              kind="money"
              testId="avg-spend"
            />
          </div>
        );
      }}
    </Panel>
  );
}

export function OverviewPage() {
  const { client } = useAuth();
  const { view, params } = useView();
  const setParam = useParamSetter();
  const w = analyticsWindow(view);
  const by: DimName = params.get("by") === "provider" ? "provider" : "model_group";
  const daily = useQuery(analyticsOptions(client, { ...w, dims: ["day", by] }));
  const tops = useQueries({
    queries: TOP.map((d) =>
      analyticsOptions(client, { ...w, dims: [d], order_by: "spend", order: "desc", limit: TOP_N }),
    ),
  });
  return (
    <div className="grid">
      <Totals input={{ ...w, dims: [] }} testId="totals" />
      <Panel
        title={`Spend per day by ${dimLabel(by).toLowerCase()} (${view.tz})`}
        testId="spend-per-day"
        q={daily}
        wide
        isEmpty={(a) => a.rows.length === 0}
        csv={analyticsCsv(`spend-per-day-by-${by}`, ["day", by])}
        actions={
          <select
            aria-label="Stack by"
            value={by}
            onChange={(e) => setParam({ by: e.target.value === "provider" ? "provider" : null })}
          >
            <option value="model_group">by model group</option>
            <option value="provider">by provider</option>
          </select>
        }
      >
        {(a) => <StackedDaily a={a} view={view} dim={by} measure="spend" testId="spend-chart" />}
      </Panel>
      {TOP.map((d, i) => (
        <Panel
          key={d}
          title={`Top ${dimLabel(d).toLowerCase()}s by spend`}
          testId={`top-${d}`}
          q={tops[i]!}
          isEmpty={(a) => a.rows.length === 0}
          csv={analyticsCsv(`top-${d}`, [d])}
        >
          {(a) => (
            <DataTable
              testId={`top-${d}-table`}
              cols={dimCols(d)}
              rows={rowsOf(a)}
              initialSort={{ id: "spend", desc: true }}
            />
          )}
        </Panel>
      ))}
      <ProviderBudgetsPanel tz={view.tz} />
    </div>
  );
}
