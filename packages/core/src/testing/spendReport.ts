/**
 * The spend report's answers summed by hand over a list of logs: the independent oracle the report
 * tests (core, streaming, day cache, server) compare against. Text is ordered by code point, nulls
 * last (the report's `COLLATE "C"` order), written here without reference to the code under test.
 */
export interface ReportLog {
  startTime: string;
  model: string;
  api_key: string;
  spend: number;
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  end_user: string | null;
}

export function cmpCodePoints(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length;
}

/** Per day, per group (`groupOf`), per (model, key): spend and tokens, in the report's order. */
export function bruteReportDays<L extends ReportLog>(rows: readonly L[], groupOf: (l: L) => string | null) {
  const days = new Map<string, Map<string | null, Map<string, { spend: number; total_tokens: number }>>>();
  for (const l of rows) {
    const day = l.startTime.slice(0, 10);
    const d = days.get(day) ?? new Map();
    days.set(day, d);
    const g = d.get(groupOf(l)) ?? new Map();
    d.set(groupOf(l), g);
    const k = JSON.stringify([l.model, l.api_key]);
    const m = g.get(k) ?? { spend: 0, total_tokens: 0 };
    m.spend += l.spend;
    m.total_tokens += l.total_tokens;
    g.set(k, m);
  }
  const cmp = cmpCodePoints;
  return [...days.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([day, groups]) => ({
      day,
      groups: [...groups.entries()]
        .map(([name, ms]) => {
          const metadata = [...ms.entries()]
            .map(([k, v]) => {
              const [model, api_key] = JSON.parse(k) as [string, string];
              return { model, api_key, spend: v.spend, total_tokens: v.total_tokens };
            })
            .sort((a, b) => b.spend - a.spend || cmp(a.model, b.model) || cmp(a.api_key, b.api_key));
          return { name, total_spend: metadata.reduce((s, m) => s + m.spend, 0), metadata };
        })
        .sort((a, b) => b.total_spend - a.total_spend || cmp(a.name, b.name)),
    }));
}

/** group_by=team: `teamNameOf` gives the team's name as the report shows it. */
export const bruteTeams = <L extends ReportLog>(rows: readonly L[], teamNameOf: (l: L) => string) =>
  bruteReportDays(rows, teamNameOf).map((d) => ({
    group_by_day: d.day,
    teams: d.groups.map((g) => ({ team_name: g.name!, total_spend: g.total_spend, metadata: g.metadata })),
  }));

/** group_by=customer. */
export const bruteCustomers = <L extends ReportLog>(rows: readonly L[]) =>
  bruteReportDays(rows, (l) => l.end_user).map((d) => ({
    group_by_day: d.day,
    customers: d.groups.map((g) => ({ customer: g.name, total_spend: g.total_spend, metadata: g.metadata })),
  }));

/** group_by=api_key: per key, per model, cost and tokens. */
export function bruteKeys(rows: readonly ReportLog[]) {
  const keys = new Map<string, Map<string, { c: number; i: number; o: number }>>();
  for (const l of rows) {
    const k = keys.get(l.api_key) ?? new Map();
    keys.set(l.api_key, k);
    const m = k.get(l.model) ?? { c: 0, i: 0, o: 0 };
    m.c += l.spend;
    m.i += l.prompt_tokens;
    m.o += l.completion_tokens;
    k.set(l.model, m);
  }
  const cmp = cmpCodePoints;
  return [...keys.entries()]
    .map(([api_key, ms]) => {
      const model_details = [...ms.entries()]
        .map(([model, v]) => ({ model, total_cost: v.c, total_input_tokens: v.i, total_output_tokens: v.o }))
        .sort((a, b) => b.total_cost - a.total_cost || cmp(a.model, b.model));
      return {
        api_key,
        total_cost: model_details.reduce((s, m) => s + m.total_cost, 0),
        total_input_tokens: model_details.reduce((s, m) => s + m.total_input_tokens, 0),
        total_output_tokens: model_details.reduce((s, m) => s + m.total_output_tokens, 0),
        model_details,
      };
    })
    .sort((a, b) => b.total_cost - a.total_cost || cmp(a.api_key, b.api_key));
}
