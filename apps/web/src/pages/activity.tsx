import { useQuery } from "@tanstack/react-query";
import { analyticsOptions, type FailuresAnswer, type FailuresRow, failuresOptions } from "../api.ts";
import { isAdmin, useAuth } from "../auth.ts";
import { percent } from "../format.ts";
import { analyticsCsv, type Row, rowsOf, StackedDaily } from "../panels.tsx";
import { type Col, DataTable, daysOf, Panel, pivot, SeriesChart } from "../ui.tsx";
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
  /** A measure per day, stacked by model group or by deployment. */
  const stacked = (
    what: "Requests" | "Tokens",
    testId: string,
    q: typeof byGroup,
    dim: "model_group" | "api_base",
    measure: "requests" | "total_tokens",
  ) => {
    const by = dim === "model_group" ? "model group" : "deployment";
    return (
      <Panel
        title={`${what} per day by ${by} (${view.tz})`}
        testId={testId}
        q={q}
        isEmpty={empty}
        csv={analyticsCsv(`${what.toLowerCase()}-per-day-by-${by.replace(" ", "-")}`, ["day", dim])}
      >
        {(a) => <StackedDaily a={a} view={view} dim={dim} measure={measure} />}
      </Panel>
    );
  };
  return (
    <div className="grid">
      {stacked("Requests", "requests-by-group", byGroup, "model_group", "requests")}
      {stacked("Tokens", "tokens-by-group", byGroup, "model_group", "total_tokens")}
      {stacked("Requests", "requests-by-deployment", byDeployment, "api_base", "requests")}
      <Failures />
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

/** The rows summed by day and one of model_group / model (days ascending, names bytewise). */
function failuresBy(rows: FailuresRow[], key: "model_group" | "model") {
  const m = new Map<string, Record<string, string | number>>();
  for (const r of rows) {
    const k = `${r.date}\u0000${r[key]}`;
    const e = m.get(k) ?? {
      date: r.date,
      [key]: r[key],
      api_requests: 0,
      successful_requests: 0,
      failed_requests: 0,
    };
    e.api_requests = Number(e.api_requests) + r.api_requests;
    e.successful_requests = Number(e.successful_requests) + r.successful_requests;
    e.failed_requests = Number(e.failed_requests) + r.failed_requests;
    m.set(k, e);
  }
  return [...m.values()];
}

/** Per UTC day: requests, successes, failures. */
function failuresPerDay(rows: FailuresRow[]): DayMetrics[] {
  const m = new Map<string, DayMetrics>();
  for (const r of rows) {
    const e = m.get(r.date) ?? { date: r.date, api_requests: 0, successful_requests: 0, failed_requests: 0 };
    e.api_requests += r.api_requests;
    e.successful_requests += r.successful_requests;
    e.failed_requests += r.failed_requests;
    m.set(r.date, e);
  }
  return [...m.values()];
}

/**
 * Failed requests (spend logs with status 'failure', LiteLLM's daily-activity definition) per UTC day,
 * by model group and by deployment model, from one activity.failures call. Internal users get their
 * own; the procedure counts UTC days, so the titles say so.
 */
function Failures() {
  const { client } = useAuth();
  const { view } = useView();
  const q = useQuery(failuresOptions(client, { start_date: view.from, end_date: view.to }));
  const days = daysOf(view.from, view.to);
  const noFailures = (a: FailuresAnswer) => !a.rows.some((r) => r.failed_requests > 0);
  const csv = (a: FailuresAnswer) => ({
    name: "failures-per-day",
    columns: ["date", "model_group", "model", "api_requests", "successful_requests", "failed_requests"],
    rows: a.rows,
  });
  const panel = (key: "model_group" | "model", title: string, testId: string) => (
    <Panel
      title={title}
      testId={testId}
      q={q}
      isEmpty={noFailures}
      emptyText="No failed requests in this range."
      csv={csv}
    >
      {(a) => (
        <SeriesChart
          labels={days}
          stacked
          kind="int"
          testId={`${testId}-chart`}
          series={pivot(
            failuresBy(a.rows, key).filter((r) => Number(r.failed_requests) > 0),
            days,
            "date",
            key,
            "failed_requests",
          )}
        />
      )}
    </Panel>
  );
  return (
    <>
      {panel("model_group", "Failed requests per day by model group (UTC days)", "failures-by-group")}
      {panel("model", "Failed requests per day by deployment model (UTC days)", "failures-by-model")}
      <Panel
        title="Failures per day (UTC days)"
        testId="failures-daily"
        q={q}
        isEmpty={(a) => a.rows.length === 0}
        csv={csv}
      >
        {(a) => (
          <DataTable
            testId="failures-daily-table"
            cols={failureDailyCols}
            rows={failuresPerDay(a.rows)}
            initialSort={{ id: "date", desc: false }}
            maxRows={31}
          />
        )}
      </Panel>
    </>
  );
}

type DayMetrics = {
  date: string;
  api_requests: number;
  successful_requests: number;
  failed_requests: number;
};
const failureDailyCols: Col<DayMetrics>[] = [
  { id: "date", header: "Day (UTC)", value: (r) => r.date },
  { id: "api_requests", header: "Requests", value: (r) => r.api_requests, kind: "int" },
  { id: "successful_requests", header: "Succeeded", value: (r) => r.successful_requests, kind: "int" },
  { id: "failed_requests", header: "Failed", value: (r) => r.failed_requests, kind: "int" },
  {
    id: "failure_rate",
    header: "Failed %",
    value: (r) => (r.api_requests ? r.failed_requests / r.api_requests : 0),
    kind: "int",
    render: (r) => percent(r.api_requests ? r.failed_requests / r.api_requests : 0),
  },
];

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
