import { useQuery } from "@tanstack/react-query";
import { analyticsOptions } from "../api.ts";
import { isAdmin, useAuth } from "../auth.ts";
import { analyticsCsv, type Row, rowsOf, StackedDaily } from "../panels.tsx";
import { type Col, DataTable, daysOf, Panel, SeriesChart } from "../ui.tsx";
import { analyticsWindow, useParamSetter, useView } from "../view.ts";

const dailyCols: Col<Row>[] = [
  { id: "day", header: "Day", value: (r) => r.day ?? null },
  { id: "requests", header: "Requests", value: (r) => r.requests, kind: "int" },
  { id: "prompt_tokens", header: "Prompt tokens", value: (r) => r.prompt_tokens, kind: "int" },
  { id: "completion_tokens", header: "Completion tokens", value: (r) => r.completion_tokens, kind: "int" },
  { id: "total_tokens", header: "Tokens", value: (r) => r.total_tokens, kind: "int" },
  { id: "spend", header: "Spend", value: (r) => r.spend, kind: "money" },
];

export function ActivityPage() {
  const { client, who } = useAuth();
  const { view } = useView();
  const w = analyticsWindow(view);
  const byGroup = useQuery(analyticsOptions(client, { ...w, dims: ["day", "model_group"] }));
  const byDeployment = useQuery(analyticsOptions(client, { ...w, dims: ["day", "api_base"] }));
  const daily = useQuery(analyticsOptions(client, { ...w, dims: ["day"] }));
  const empty = (a: { rows: unknown[] }) => a.rows.length === 0;
  return (
    <div className="grid">
      <Panel
        title={`Requests per day by model group (${view.tz})`}
        testId="requests-by-group"
        q={byGroup}
        isEmpty={empty}
        csv={analyticsCsv("requests-per-day-by-model-group", ["day", "model_group"])}
      >
        {(a) => <StackedDaily a={a} view={view} dim="model_group" measure="requests" />}
      </Panel>
      <Panel
        title={`Tokens per day by model group (${view.tz})`}
        testId="tokens-by-group"
        q={byGroup}
        isEmpty={empty}
        csv={analyticsCsv("tokens-per-day-by-model-group", ["day", "model_group"])}
      >
        {(a) => <StackedDaily a={a} view={view} dim="model_group" measure="total_tokens" />}
      </Panel>
      <Panel
        title={`Requests per day by deployment (${view.tz})`}
        testId="requests-by-deployment"
        q={byDeployment}
        isEmpty={empty}
        csv={analyticsCsv("requests-per-day-by-deployment", ["day", "api_base"])}
      >
        {(a) => <StackedDaily a={a} view={view} dim="api_base" measure="requests" />}
      </Panel>
      {isAdmin(who) ? <RateLimits groups={byGroup.data ? rowsOf(byGroup.data) : []} /> : null}
      <Panel
        title={`Per day (${view.tz})`}
        testId="daily"
        q={daily}
        wide
        isEmpty={empty}
        csv={analyticsCsv("per-day", ["day"])}
      >
        {(a) => (
          <DataTable
            testId="daily-table"
            cols={dailyCols}
            rows={rowsOf(a)}
            initialSort={{ id: "day", desc: false }}
          />
        )}
      </Panel>
    </div>
  );
}

/**
 * 429s per UTC day for one model group, in all and per deployment (error logs have no user: admins only;
 * the activity procedures count UTC days).
 */
function RateLimits(props: { groups: Row[] }) {
  const { client } = useAuth();
  const { view, params } = useView();
  const setParams = useParamSetter();
  const names = [...new Set(props.groups.map((r) => r.model_group).filter((g): g is string => !!g))].sort();
  const group = params.get("model_group") ?? names[0] ?? null;
  const input = { model_group: group ?? "", start_date: view.from, end_date: view.to };
  const total = useQuery({
    queryKey: ["activity.globalActivityExceptions", input],
    queryFn: () => client.activity.globalActivityExceptions.query(input),
    enabled: group !== null,
  });
  const perDeployment = useQuery({
    queryKey: ["activity.globalActivityExceptionsDeployment", input],
    queryFn: () => client.activity.globalActivityExceptionsDeployment.query(input),
    enabled: group !== null,
  });
  const days = daysOf(view.from, view.to);
  const picker = (
    <select
      aria-label="Model group"
      value={group ?? ""}
      onChange={(e) => setParams({ model_group: e.target.value || null })}
    >
      {names.map((n) => (
        <option key={n} value={n}>
          {n}
        </option>
      ))}
    </select>
  );
  if (group === null)
    return (
      <section className="panel">
        <h2>Rate-limit errors (429)</h2>
        <p className="muted">No model group has requests in this range.</p>
      </section>
    );
  return (
    <>
      <Panel
        title="429s per day (UTC days)"
        testId="rate-limits"
        q={total}
        actions={picker}
        isEmpty={(d) => d.sum_num_rate_limit_exceptions === 0}
        emptyText={`No 429s for ${group} in this range.`}
        csv={(d) => ({
          name: `429s-${group}`,
          columns: ["date", "num_rate_limit_exceptions"],
          rows: d.daily_data,
        })}
      >
        {(d) => {
          const by = new Map(d.daily_data.map((x) => [x.date, x.num_rate_limit_exceptions]));
          return (
            <SeriesChart
              labels={days}
              series={[{ label: "429s", data: days.map((x) => by.get(x) ?? 0) }]}
              kind="int"
            />
          );
        }}
      </Panel>
      <Panel
        title="429s per day by deployment (UTC days)"
        testId="rate-limits-deployment"
        q={perDeployment}
        isEmpty={(d) => d.length === 0}
        emptyText={`No 429s for ${group} in this range.`}
        csv={(d) => ({
          name: `429s-${group}-by-deployment`,
          columns: ["api_base", "date", "num_rate_limit_exceptions"],
          rows: d.flatMap((x) => x.daily_data.map((y) => ({ api_base: x.api_base, ...y }))),
        })}
      >
        {(d) => (
          <SeriesChart
            labels={days}
            stacked
            kind="int"
            series={d.map((x) => {
              const by = new Map(x.daily_data.map((y) => [y.date, y.num_rate_limit_exceptions]));
              return { label: x.api_base || "(none)", data: days.map((y) => by.get(y) ?? 0) };
            })}
          />
        )}
      </Panel>
    </>
  );
}
