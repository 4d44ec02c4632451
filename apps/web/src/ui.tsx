import type { UseQueryResult } from "@tanstack/react-query";
import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  type SortingState,
  useReactTable,
} from "@tanstack/react-table";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { type ReactNode, useEffect, useMemo, useRef, useState } from "react";
import { errorText } from "./api.ts";
import { downloadCsv } from "./csv.ts";
import { int, money } from "./format.ts";

Chart.register(
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  CategoryScale,
  LinearScale,
  Tooltip,
  Legend,
);

export interface CsvSource {
  name: string;
  columns: string[];
  rows: Record<string, unknown>[];
}

/**
 * A panel around one query: a loading line, an error line, an empty line, or its content. `csv` exports
 * the rows the procedure answered.
 */
export interface PanelProps<T> {
  title: string;
  testId?: string;
  q: UseQueryResult<T>;
  isEmpty?: (d: T) => boolean;
  emptyText?: string;
  csv?: (d: T) => CsvSource;
  actions?: ReactNode;
  wide?: boolean;
  children: (d: T) => ReactNode;
}

export function Panel<T>(props: PanelProps<T>) {
  const { q } = props;
  let body: ReactNode;
  let state: string;
  if (q.isPending) {
    state = "loading";
    body = <p className="muted">Loading…</p>;
  } else if (q.isError) {
    state = "error";
    body = (
      <p className="error" role="alert">
        {errorText(q.error)}
      </p>
    );
  } else if (props.isEmpty?.(q.data)) {
    state = "empty";
    body = <p className="muted">{props.emptyText ?? "Nothing in this range."}</p>;
  } else {
    state = "ready";
    body = props.children(q.data);
  }
  const csv = props.csv;
  return (
    <section
      className={props.wide ? "panel wide" : "panel"}
      data-testid={props.testId}
      data-state={state}
      aria-busy={state === "loading"}
    >
      <header>
        <h2>{props.title}</h2>
        <div className="actions">
          {props.actions}
          {csv && state === "ready" ? (
            <button
              type="button"
              className="link"
              onClick={() => {
                const c = csv(q.data as T);
                downloadCsv(c.name, c.columns, c.rows);
              }}
            >
              CSV
            </button>
          ) : null}
        </div>
      </header>
      {body}
    </section>
  );
}

export function Stat(props: { label: string; value: number; kind: "money" | "int"; testId?: string }) {
  return (
    <div className="stat" data-testid={props.testId} data-value={props.value}>
      <div className="stat-label">{props.label}</div>
      <div className="stat-value">{props.kind === "money" ? money(props.value) : int(props.value)}</div>
    </div>
  );
}

export interface Col<T> {
  id: string;
  header: string;
  value: (r: T) => string | number | null;
  kind?: "money" | "int" | "text";
  render?: (r: T) => ReactNode;
}

/** A sortable table (TanStack Table). Every cell carries its raw value in data-value. */
export function DataTable<T>(props: {
  cols: Col<T>[];
  rows: T[];
  initialSort?: { id: string; desc: boolean };
  onRowClick?: (r: T) => void;
  rowKey?: (r: T, i: number) => string;
  testId?: string;
  maxRows?: number;
}) {
  const [sorting, setSorting] = useState<SortingState>(props.initialSort ? [props.initialSort] : []);
  const columns = useMemo<ColumnDef<T>[]>(
    () =>
      props.cols.map((c) => ({
        id: c.id,
        header: c.header,
        accessorFn: (r: T) => c.value(r),
        sortingFn: c.kind === "money" || c.kind === "int" ? "basic" : "alphanumeric",
        sortUndefined: "last",
        cell: (ctx) => {
          const r = ctx.row.original;
          if (c.render) return c.render(r);
          const v = c.value(r);
          if (c.kind === "money") return money(v as number);
          if (c.kind === "int") return int(v as number);
          return v === null || v === "" ? <span className="muted">(none)</span> : String(v);
        },
      })),
    [props.cols],
  );
  const table = useReactTable({
    data: props.rows,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    ...(props.rowKey ? { getRowId: (r: T, i: number) => props.rowKey!(r, i) } : {}),
  });
  const rows = table.getRowModel().rows;
  const shown = props.maxRows ? rows.slice(0, props.maxRows) : rows;
  const kinds = new Map(props.cols.map((c) => [c.id, c.kind ?? "text"]));
  return (
    <div className="table-wrap">
      <table data-testid={props.testId}>
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>
              {hg.headers.map((h) => {
                const dir = h.column.getIsSorted();
                return (
                  <th
                    key={h.id}
                    className={kinds.get(h.column.id) === "text" ? "" : "num"}
                    aria-sort={dir === "asc" ? "ascending" : dir === "desc" ? "descending" : "none"}
                  >
                    <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}>
                      {flexRender(h.column.columnDef.header, h.getContext())}
                      {dir === "asc" ? " ▲" : dir === "desc" ? " ▼" : ""}
                    </button>
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {shown.map((row) => (
            <tr
              key={row.id}
              className={props.onRowClick ? "clickable" : ""}
              onClick={props.onRowClick ? () => props.onRowClick!(row.original) : undefined}
            >
              {row.getVisibleCells().map((cell) => {
                const v = cell.getValue();
                return (
                  <td
                    key={cell.id}
                    data-col={cell.column.id}
                    data-value={v === null || v === undefined ? "" : String(v)}
                    className={kinds.get(cell.column.id) === "text" ? "" : "num"}
                  >
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {props.maxRows && rows.length > props.maxRows ? (
        <p className="muted small">
          Showing {props.maxRows} of {rows.length}; the CSV has all.
        </p>
      ) : null}
    </div>
  );
}

const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

export interface Series {
  label: string;
  data: number[];
}

/** A bar (optionally stacked) or line chart over category labels (days). */
export function SeriesChart(props: {
  labels: string[];
  series: Series[];
  type?: "bar" | "line";
  stacked?: boolean;
  kind: "money" | "int";
  testId?: string;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    const fmt = props.kind === "money" ? money : int;
    const chart = new Chart(ref.current, {
      type: props.type ?? "bar",
      data: {
        labels: props.labels,
        datasets: props.series.map((s, i) => ({
          label: s.label,
          data: s.data,
          backgroundColor: PALETTE[i % PALETTE.length],
          borderColor: PALETTE[i % PALETTE.length],
          borderWidth: props.type === "line" ? 2 : 0,
          pointRadius: 0,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: !!props.stacked, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: {
            stacked: !!props.stacked,
            beginAtZero: true,
            ticks: { callback: (v) => fmt(Number(v)), ...(props.kind === "int" ? { precision: 0 } : {}) },
          },
        },
        plugins: {
          legend: { display: props.series.length > 1, position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt(Number(c.parsed.y))}` } },
        },
      },
    });
    return () => chart.destroy();
  }, [props.labels, props.series, props.type, props.stacked, props.kind]);
  return (
    <div className="chart" data-testid={props.testId}>
      <canvas ref={ref} />
    </div>
  );
}

/**
 * Rows of (bucket, dimension, measure) into chart series: the top `top` values of the dimension by the
 * measure's total, the rest summed as "other", every label of `days` present (0 where no row).
 */
export function pivot<R extends Record<string, unknown>>(
  rows: R[],
  days: string[],
  bucket: string,
  dim: string,
  measure: string,
  top = 8,
): Series[] {
  const totals = new Map<string, number>();
  for (const r of rows) {
    const k = r[dim] === null || r[dim] === "" ? "(none)" : String(r[dim]);
    totals.set(k, (totals.get(k) ?? 0) + Number(r[measure]));
  }
  const keep = [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k]) => k);
  const kept = new Set(keep);
  const index = new Map(days.map((d, i) => [d, i]));
  const series = new Map<string, number[]>();
  for (const k of keep) series.set(k, new Array(days.length).fill(0));
  const other = new Array(days.length).fill(0);
  let hasOther = false;
  for (const r of rows) {
    const i = index.get(String(r[bucket]));
    if (i === undefined) continue;
    const k = r[dim] === null || r[dim] === "" ? "(none)" : String(r[dim]);
    const target = kept.has(k) ? series.get(k)! : other;
    if (!kept.has(k)) hasOther = true;
    target[i] += Number(r[measure]);
  }
  const out = [...series.entries()].map(([label, data]) => ({ label, data }));
  if (hasOther) out.push({ label: "other", data: other });
  return out;
}

/** Every local day from `from` to `to`, inclusive. */
export function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  let d = from;
  while (d <= to && out.length < 400) {
    out.push(d);
    const [y, m, dd] = d.split("-").map(Number) as [number, number, number];
    d = new Date(Date.UTC(y, m - 1, dd + 1)).toISOString().slice(0, 10);
  }
  return out;
}
