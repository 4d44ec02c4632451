import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { type LogRow, type LogsPageInput, logsPageOptions } from "../api.ts";
import { isAdmin, useAuth } from "../auth.ts";
import { useKeyNames, useTeamNames } from "../entities.ts";
import { dateTimeIn, int, money } from "../format.ts";
import { type Col, type CsvSource, DataTable, Panel, type PanelProps } from "../ui.tsx";
import { logsWindow, useParamSetter, useView } from "../view.ts";

/** The filters of logs.page (and /spend/logs/ui), as URL parameters of the same names (user_id: admins only). */
const FILTERS = Object.entries({
  api_key: "Key (sk-… or hash)",
  user_id: "User",
  request_id: "Request id",
  team_id: "Team",
  end_user: "Customer (end user)",
  model: "Model",
  tag: "Tag",
  min_spend: "Min spend ($)",
  max_spend: "Max spend ($)",
}).map(([id, label]) => ({ id, label, adminOnly: id === "user_id" }));

export const PAGE_SIZE = 50;

const LOG_COLUMNS = (
  "request_id startTime endTime api_key user team_id end_user model model_group custom_llm_provider " +
  "api_base prompt_tokens completion_tokens total_tokens spend status call_type request_tags metadata"
).split(" ");

export function logsCsv(name: string, rows: LogRow[]): CsvSource {
  return { name, columns: LOG_COLUMNS, rows: rows as unknown as Record<string, unknown>[] };
}

/** A panel of a logs.page answer: empty when the page has no row, its rows' CSV named `csvName`. */
export function LogsPanel<T extends { data: LogRow[] }>(
  props: Omit<PanelProps<T>, "isEmpty" | "csv"> & { csvName: string },
) {
  const { csvName, ...rest } = props;
  return <Panel {...rest} isEmpty={(p) => p.data.length === 0} csv={(p) => logsCsv(csvName, p.data)} />;
}

export function LogsTable(props: { rows: LogRow[]; tz: string; onOpen?: (r: LogRow) => void }) {
  const keyName = useKeyNames();
  const teamName = useTeamNames();
  const cols: Col<LogRow>[] = [
    {
      id: "startTime",
      header: `Time (${props.tz})`,
      value: (r) => r.startTime,
      render: (r) => dateTimeIn(r.startTime, props.tz),
    },
    { id: "user", header: "User", value: (r) => r.user },
    { id: "api_key", header: "Key", value: (r) => r.api_key, render: (r) => keyName(r.api_key) },
    {
      id: "team_id",
      header: "Team",
      value: (r) => r.team_id,
      render: (r) =>
        r.team_id ? (
          <span title={r.team_id}>{teamName(r.team_id)}</span>
        ) : (
          <span className="muted">(none)</span>
        ),
    },
    { id: "model", header: "Model", value: (r) => r.model },
    { id: "total_tokens", header: "Tokens", value: (r) => r.total_tokens, kind: "int" },
    { id: "spend", header: "Spend", value: (r) => r.spend, kind: "money" },
    { id: "status", header: "Status", value: (r) => r.status },
    {
      id: "request_id",
      header: "Request",
      value: (r) => r.request_id,
      render: (r) => <code>{r.request_id}</code>,
    },
  ];
  return (
    <DataTable
      testId="logs-table"
      cols={cols}
      rows={props.rows}
      rowKey={(r) => r.request_id}
      {...(props.onOpen ? { onRowClick: props.onOpen } : {})}
    />
  );
}

export function LogsPage() {
  const { client, who } = useAuth();
  const { view, params } = useView();
  const setParams = useParamSetter();
  const admin = isAdmin(who);
  const filters: Record<string, string> = {};
  for (const f of FILTERS) {
    const v = params.get(f.id);
    if (v && (admin || !f.adminOnly)) filters[f.id] = v;
  }
  const cursor = params.get("cursor") ?? undefined;
  const filterKey = JSON.stringify([filters, view]);
  // Cursors of the pages before this one, for "Previous" (keyset pages have no offsets to go back by).
  const [back, setBack] = useState<{ key: string; cursors: (string | null)[] }>({
    key: filterKey,
    cursors: [],
  });
  const stack = back.key === filterKey ? back.cursors : [];
  const input = {
    ...logsWindow(view),
    ...filters,
    limit: PAGE_SIZE,
    include_total: true,
    ...(cursor ? { cursor } : {}),
  } as LogsPageInput;
  const q = useQuery(logsPageOptions(client, input));
  const open = params.get("log");
  return (
    <div className="grid">
      <section className="panel wide">
        <form
          className="filters"
          data-testid="log-filters"
          key={JSON.stringify(filters)}
          onSubmit={(e) => {
            e.preventDefault();
            const fd = new FormData(e.currentTarget);
            const patch: Record<string, string | null> = { cursor: null, log: null };
            for (const f of FILTERS) patch[f.id] = String(fd.get(f.id) ?? "").trim() || null;
            setParams(patch);
          }}
        >
          {FILTERS.filter((f) => admin || !f.adminOnly).map((f) => (
            <label key={f.id}>
              {f.label}
              <input
                name={f.id}
                defaultValue={filters[f.id] ?? ""}
                inputMode={f.id.endsWith("spend") ? "decimal" : "text"}
              />
            </label>
          ))}
          <div className="filter-actions">
            <button type="submit">Apply</button>
            <button
              type="button"
              className="link"
              onClick={() =>
                setParams(Object.fromEntries([...FILTERS.map((f) => [f.id, null]), ["cursor", null]]))
              }
            >
              Clear
            </button>
          </div>
        </form>
      </section>
      <LogsPanel
        title="Logs, newest first"
        testId="logs"
        q={q}
        wide
        emptyText="No logs match these filters in this range."
        csvName="logs-page"
        actions={
          q.data ? (
            <span className="muted small" data-testid="logs-total" data-value={q.data.total ?? ""}>
              {int(q.data.total)} logs
            </span>
          ) : null
        }
      >
        {(p) => (
          <>
            <LogsTable rows={p.data} tz={view.tz} onOpen={(r) => setParams({ log: r.request_id })} />
            <div className="pager">
              <button
                type="button"
                data-testid="prev-page"
                disabled={!cursor}
                onClick={() => {
                  const prev = stack.length ? stack[stack.length - 1]! : null;
                  setBack({ key: filterKey, cursors: stack.slice(0, -1) });
                  setParams({ cursor: prev, log: null });
                }}
              >
                ← Newer
              </button>
              <span className="muted small" data-testid="page-number">
                Page {stack.length + 1}
                {p.total !== null ? ` of ${Math.max(1, Math.ceil(p.total / PAGE_SIZE))}` : ""}
              </span>
              <button
                type="button"
                data-testid="next-page"
                disabled={!p.next_cursor}
                onClick={() => {
                  const nextFilterKey = filterKey;
                  setBack({ key: nextFilterKey, cursors: [...stack, cursor ?? null] });
                  setParams({ cursor: p.next_cursor, log: null });
                }}
              >
                Older →
              </button>
            </div>
          </>
        )}
      </LogsPanel>
      {open ? <LogDetail requestId={open} onClose={() => setParams({ log: null })} /> : null}
    </div>
  );
}

function LogDetail(props: { requestId: string; onClose: () => void }) {
  const { client } = useAuth();
  const { view } = useView();
  const q = useQuery(logsPageOptions(client, { request_id: props.requestId, limit: 1 }));
  return (
    <aside className="drawer" data-testid="log-detail" aria-label="Log detail">
      <LogsPanel
        title="Log detail"
        q={q}
        emptyText="No such log (or not yours)."
        csvName={`log-${props.requestId}`}
        actions={
          <button type="button" className="link" onClick={props.onClose} data-testid="close-detail">
            Close
          </button>
        }
      >
        {(p) => {
          const r = p.data[0]! as Record<string, unknown>;
          // Scalars in a list; the payload (messages, response, metadata, tags…) as JSON below it.
          const isPayload = (v: unknown) => v !== null && typeof v === "object";
          const scalars = Object.entries(r).filter(([, v]) => !isPayload(v));
          const payload = Object.entries(r).filter(([, v]) => isPayload(v));
          return (
            <>
              <dl className="kv">
                {scalars.map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd data-field={k} title={k === "spend" ? String(v) : undefined}>
                      {k === "spend"
                        ? `${money(Number(v))} (${Number(Number(v).toPrecision(12))})`
                        : (k === "startTime" || k === "endTime" || k === "completionStartTime") &&
                            typeof v === "string"
                          ? `${dateTimeIn(v, view.tz)} (${view.tz})`
                          : v === null || v === ""
                            ? "—"
                            : String(v)}
                    </dd>
                  </div>
                ))}
              </dl>
              {payload.map(([k, v]) => (
                <div key={k}>
                  <h3>{k}</h3>
                  <pre data-testid={`log-${k}`}>{JSON.stringify(v, null, 2)}</pre>
                </div>
              ))}
            </>
          );
        }}
      </LogsPanel>
    </aside>
  );
}
