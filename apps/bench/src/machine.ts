import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import type pg from "pg";

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  postgres: string;
  postgresSettings: string;
  loadAverage: string;
}

export async function describeMachine(pool: pg.Pool): Promise<Machine> {
  const v = await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  const s = await pool.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings
     WHERE name IN ('shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'jit', 'synchronous_commit')
     ORDER BY name`,
  );
  let model = cpus()[0]?.model ?? "unknown";
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) model = m[1]!.trim();
  } catch {
    /* not linux */
  }
  return {
    cpus: cpus().length,
    cpuModel: model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: v.rows[0]!.v,
    postgresSettings: s.rows.map((r) => `${r.name}=${r.setting}${r.unit ?? ""}`).join(", "),
    loadAverage: loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
  };
}
