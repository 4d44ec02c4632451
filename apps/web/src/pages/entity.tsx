import { useQuery } from "@tanstack/react-query";
import { Link, useLocation } from "wouter";
import { type AnalyticsInput, analyticsOptions, type DimName, logsPageOptions } from "../api.ts";
import { useAuth } from "../auth.ts";
import { ENTITIES, type EntityKind, useKeyNames, useTeamNames } from "../entities.ts";
import { ViewLink } from "../link.tsx";
import { analyticsCsv, dimCols, dimLabel, rowsOf } from "../panels.tsx";
import { DataTable, daysOf, Panel, SeriesChart } from "../ui.tsx";
import { analyticsWindow, logsWindow, useView, withView } from "../view.ts";
import { LogsPanel, LogsTable } from "./logs.tsx";
import { Totals } from "./overview.tsx";

/** Every value of one dimension in the range, one analytics call, sorted in the browser. */
export function EntityListPage(props: { kind: EntityKind }) {
  const { client } = useAuth();
  const { view } = useView();
  const [, navigate] = useLocation();
  const e = ENTITIES[props.kind];
  const dim = e.dim as DimName;
  const q = useQuery(
    analyticsOptions(client, { ...analyticsWindow(view), dims: [dim], order_by: "spend", order: "desc" }),
  );
  return (
    <div className="grid">
      <Panel
        title={`${e.title} (${view.from} – ${view.to}, ${view.tz})`}
        testId="entity-list"
        q={q}
        wide
        isEmpty={(a) => a.rows.length === 0}
        csv={analyticsCsv(props.kind, [dim])}
      >
        {(a) => (
          <>
            {a.truncated ? (
              <p className="muted small">Only the first {a.rows.length} by spend are listed.</p>
            ) : null}
            <DataTable
              testId="entity-table"
              cols={dimCols(dim)}
              rows={rowsOf(a)}
              initialSort={{ id: "spend", desc: true }}
              onRowClick={(r) => {
                const v = r[dim];
                if (v !== null && v !== undefined && v !== "")
                  navigate(`/${props.kind}/${encodeURIComponent(String(v))}?${withView(view)}`);
              }}
            />
          </>
        )}
      </Panel>
    </div>
  );
}

/** One team, key, user, customer, tag or model: totals, spend and requests per day, breakdowns, logs. */
export function EntityPage(props: { kind: EntityKind; id: string }) {
  const { client } = useAuth();
  const { view } = useView();
  const keyName = useKeyNames();
  const teamName = useTeamNames();
  const e = ENTITIES[props.kind];
  const dim = e.dim as DimName;
  const w = analyticsWindow(view);
  const filter = { [dim]: [props.id] } as Partial<AnalyticsInput>;
  const daily = useQuery(analyticsOptions(client, { ...w, ...filter, dims: ["day"] }));
  const breakdowns = (["model_group", "api_key", "tag", "team", "user"] as DimName[]).filter(
    (d) => d !== dim,
  );
  const name = dim === "api_key" ? keyName(props.id) : dim === "team" ? teamName(props.id) : props.id;
  return (
    <div className="grid">
      <section className="panel wide crumbs">
        <ViewLink to={`/${props.kind}`}>{e.title}</ViewLink> /{" "}
        <strong data-testid="entity-name" title={props.id}>
          {name}
        </strong>
        {name !== props.id && dim !== "api_key" ? <span className="muted"> ({props.id})</span> : null}
      </section>
      <Totals input={{ ...w, ...filter, dims: [] }} testId="entity-totals" />
      {(["spend", "requests"] as const).map((measure) => (
        <Panel
          key={measure}
          title={`${measure === "spend" ? "Spend" : "Requests"} per day (${view.tz})`}
          testId={`entity-${measure}-per-day`}
          q={daily}
          isEmpty={(a) => a.rows.length === 0}
          csv={analyticsCsv(`${props.kind}-${props.id}-per-day`, ["day"])}
        >
          {(a) => <DailyChart rows={rowsOf(a)} from={view.from} to={view.to} measure={measure} />}
        </Panel>
      ))}
      {breakdowns.map((d) => (
        <Breakdown
          key={d}
          dim={d}
          input={{ ...w, ...filter, dims: [d], order_by: "spend", limit: 50 }}
          id={props.id}
        />
      ))}
      <EntityLogs filter={{ [e.logFilter]: props.id }} />
    </div>
  );
}

function DailyChart(props: {
  rows: ReturnType<typeof rowsOf>;
  from: string;
  to: string;
  measure: "spend" | "requests";
}) {
  const days = daysOf(props.from, props.to);
  const by = new Map(props.rows.map((r) => [String(r.day), r]));
  const data = days.map((d) => Number(by.get(d)?.[props.measure] ?? 0));
  return (
    <SeriesChart
      labels={days}
      series={[{ label: props.measure, data }]}
      type={props.measure === "spend" ? "bar" : "line"}
      kind={props.measure === "spend" ? "money" : "int"}
    />
  );
}

function Breakdown(props: { dim: DimName; input: AnalyticsInput; id: string }) {
  const { client } = useAuth();
  const q = useQuery(analyticsOptions(client, props.input));
  return (
    <Panel
      title={`By ${dimLabel(props.dim).toLowerCase()}`}
      testId={`by-${props.dim}`}
      q={q}
      isEmpty={(a) => a.rows.length === 0}
      csv={analyticsCsv(`${props.id}-by-${props.dim}`, [props.dim])}
    >
      {(a) => (
        <DataTable
          cols={dimCols(props.dim)}
          rows={rowsOf(a)}
          initialSort={{ id: "spend", desc: true }}
          maxRows={10}
        />
      )}
    </Panel>
  );
}

function EntityLogs(props: { filter: Record<string, string> }) {
  const { client } = useAuth();
  const { view } = useView();
  const q = useQuery(logsPageOptions(client, { ...logsWindow(view), ...props.filter, limit: 20 }));
  return (
    <LogsPanel
      title="Latest logs"
      testId="entity-logs"
      q={q}
      wide
      csvName="entity-logs"
      actions={
        <Link href={`/logs?${withView(view, props.filter)}`} className="link">
          All logs
        </Link>
      }
    >
      {(p) => <LogsTable rows={p.data} tz={view.tz} />}
    </LogsPanel>
  );
}
