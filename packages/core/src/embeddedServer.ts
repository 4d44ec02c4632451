import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "./processAlive.ts";

/**
 * Where a server that holds the embedded data folder listens, written into the folder
 * (`server.json`) so that the CLI, which cannot open the folder while the server has it (PGlite is
 * one process at a time), goes through that server instead.
 */
export interface ServerRecord {
  pid: number;
  url: string;
  started_at: string;
}

const FILE = "server.json";

/** Writes the record; the returned function removes it (only if it is still this process's). */
export function recordEmbeddedServer(dataDir: string, url: string): () => void {
  const p = join(dataDir, FILE);
  const rec: ServerRecord = { pid: process.pid, url, started_at: new Date().toISOString() };
  // Written whole, then renamed: a CLI reading the folder meanwhile sees the old record or the new one,
  // never a file cut short (which it would take for "no server" and open the folder itself).
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rec)}\n`, { mode: 0o600 });
  renameSync(tmp, p);
  return () => {
    try {
      if ((JSON.parse(readFileSync(p, "utf8")) as ServerRecord).pid === process.pid) unlinkSync(p);
    } catch {
      /* already gone */
    }
  };
}

/** The server that holds the folder now, if any (a record left by a process that died is ignored). */
export function embeddedServer(dataDir: string): ServerRecord | null {
  const p = join(dataDir, FILE);
  if (!existsSync(p)) return null;
  try {
    const rec = JSON.parse(readFileSync(p, "utf8")) as ServerRecord;
    if (!Number.isInteger(rec.pid) || typeof rec.url !== "string") return null;
    return rec.pid !== process.pid && processAlive(rec.pid) ? rec : null;
  } catch {
    return null;
  }
}

/** The admin key the embedded default made and keeps in the folder (`master_key`), if any. */
export function embeddedMasterKey(dataDir: string): string | null {
  try {
    return readFileSync(join(dataDir, "master_key"), "utf8").trim() || null;
  } catch {
    return null;
  }
}
