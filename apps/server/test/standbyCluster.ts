/**
 * A throwaway primary and hot standby for the standby tests, made with Debian's postgresql-common tools
 * (pg_createcluster, pg_basebackup -R, pg_ctlcluster) on two free ports. Needs root (the clusters are
 * owned by the postgres user) and is removed by `drop()` whatever happened. Not a test file.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { openDatabase } from "@spendlens/core";
import { execSql } from "@spendlens/core/testing";

const run = promisify(execFile);

/** Why the topology cannot be made on this machine, or null when it can. */
export function topologyUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "not root (the clusters belong to the postgres user)";
  if (!existsSync("/usr/bin/pg_createcluster")) return "no pg_createcluster (postgresql-common)";
  if (!existsSync("/etc/postgresql")) return "no /etc/postgresql";
  return null;
}

/** The newest installed major version (the one `ls /etc/postgresql` shows, as .ci/run starts). */
function pgVersion(): string {
  const v = readdirSync("/etc/postgresql")
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  if (!v[0]) throw new Error("no Postgres version under /etc/postgresql");
  return v[0];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** One statement on a database of its own connection (the pool's clients keep an error listener). */
async function statement(url: string, text: string): Promise<unknown[]> {
  const h = await openDatabase({ databaseUrl: url, maxConnections: 1 });
  try {
    return await execSql(h.db, text);
  } finally {
    await h.close();
  }
}

export interface Topology {
  /** The spendlens database on the primary, and the same database through the standby. */
  primaryUrl: string;
  standbyUrl: string;
  /**
   * Makes the standby (a base backup of the primary as it is now) and starts it on its port; servers
   * may already be running with `standbyUrl` (they read from the primary until it answers).
   */
  startStandby(): Promise<void>;
  /** Runs one statement on the standby's server (constant SQL of the test). */
  onStandby(text: string): Promise<unknown[]>;
  /** Stops the standby at once (immediate shutdown: its connections are cut). */
  stopStandby(): Promise<void>;
  /** Removes both clusters (stopping them first); never throws. */
  drop(): Promise<void>;
}

/**
 * Makes the primary (running, with an empty database `spendlens`) and picks the standby's port; the
 * standby is made by `startStandby()`. Names carry `runId`. On failure, what was made is removed.
 */
export async function buildTopology(runId: string): Promise<Topology> {
  const ver = pgVersion();
  const primary = `standby${runId}p`;
  const standby = `standby${runId}s`;
  const drop = async () => {
    for (const name of [standby, primary]) {
      if (existsSync(`/etc/postgresql/${ver}/${name}`))
        await run("pg_dropcluster", ["--stop", ver, name]).catch(() => {});
      // A base backup that failed before its cluster was registered leaves only its folder.
      rmSync(`/var/lib/postgresql/${ver}/${name}`, { recursive: true, force: true });
    }
  };
  await drop(); // a run with this id that died before its cleanup
  try {
    const [pport, sport] = [await freePort(), await freePort()];
    await run("pg_createcluster", [
      ver,
      primary,
      "-p",
      String(pport),
      // Small and fast: a throwaway cluster (fsync off); wal_level is replica by default.
      ...["-o", "shared_buffers=16MB", "-o", "fsync=off", "-o", "max_connections=60"],
      ...["-o", "hot_standby_feedback=on"],
      "--",
      "--auth=trust",
      // initdb does not flush its files either (~1.5 s less wall time).
      "--no-sync",
    ]);
    await run("pg_ctlcluster", [ver, primary, "start"]);
    await statement(`postgres://postgres@127.0.0.1:${pport}/postgres`, "CREATE DATABASE spendlens");
    const standbyUrl = `postgres://postgres@127.0.0.1:${sport}/spendlens`;
    return {
      primaryUrl: `postgres://postgres@127.0.0.1:${pport}/spendlens`,
      standbyUrl,
      async startStandby() {
        // The standby: a base backup of the primary (-R writes primary_conninfo and standby.signal), with
        // the primary's configuration files, registered as a cluster of its own on another port.
        const dir = `/var/lib/postgresql/${ver}/${standby}`;
        await run("install", ["-d", "-o", "postgres", "-g", "postgres", "-m", "700", dir]);
        await run("runuser", [
          ...["-u", "postgres", "--", "pg_basebackup"],
          ...[
            "-h",
            "127.0.0.1",
            "-p",
            String(pport),
            "-U",
            "postgres",
            "-D",
            dir,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
          ],
        ]);
        const conf = `/etc/postgresql/${ver}/${primary}`;
        await run("install", [
          ...["-o", "postgres", "-g", "postgres", "-m", "644"],
          ...[`${conf}/postgresql.conf`, `${conf}/pg_hba.conf`, `${conf}/pg_ident.conf`, `${dir}/`],
        ]);
        await run("pg_createcluster", [ver, standby, "-p", String(sport), "-d", dir]);
        await run("pg_ctlcluster", [ver, standby, "start"]);
      },
      onStandby: (text) => statement(standbyUrl, text),
      async stopStandby() {
        await run("pg_ctlcluster", [ver, standby, "stop", "-m", "immediate"]);
      },
      drop,
    };
  } catch (e) {
    await drop();
    throw e;
  }
}
