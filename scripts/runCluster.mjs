// The test run's own Postgres cluster (scripts/test.mjs): a throwaway server of the machine's own
// PostgreSQL, made with Debian's postgresql-common tools (pg_createcluster, as the standby and restart
// tests make theirs) in a folder on /dev/shm, with durability off (fsync, synchronous_commit,
// full_page_writes: the run's databases are thrown away with it; no test of a crash uses it, those make
// their own clusters) and autovacuum off as on the shared server. Every name carries the run's id, and
// the run removes it at its end (or on Ctrl-C).
//
// Why: the run's ~115 test databases, each a copy of the migrated template, are ~65,000 files. On the
// shared server (ext4 on this machine) a CREATE DATABASE after a recent DROP costs ~0.5 CPU-s of kernel
// time, each DROP waits for a checkpoint that fsyncs everything written since the last one, and every
// commit waits for its WAL flush. On tmpfs with fsync off none of that is paid, and the run leaves the
// shared server (which CI and other work use) alone. Where it cannot be made (not root, no
// pg_createcluster, SPENDLENS_TEST_PG_URL given, SPENDLENS_TEST_OWN_CLUSTER=0), the run uses the shared
// server as before.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Why the run cannot have its own cluster here, or null when it can. */
export function ownClusterUnavailable() {
  if (process.env.SPENDLENS_TEST_OWN_CLUSTER === "0") return "SPENDLENS_TEST_OWN_CLUSTER=0";
  if (process.env.SPENDLENS_TEST_PG_URL) return "SPENDLENS_TEST_PG_URL names a server";
  if (process.getuid?.() !== 0) return "not root (a cluster belongs to the postgres user)";
  if (!existsSync("/usr/bin/pg_createcluster")) return "no pg_createcluster (postgresql-common)";
  if (!existsSync("/etc/postgresql")) return "no /etc/postgresql";
  return null;
}

/** The newest installed major version (the one `ls /etc/postgresql` shows, as .ci/run starts). */
function pgVersion() {
  const v = readdirSync("/etc/postgresql")
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  if (!v[0]) throw new Error("no Postgres version under /etc/postgresql");
  return v[0];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Makes and starts the run's cluster `spendlens_t_<run id>`; resolves to its URL (database `postgres`,
 * user postgres, trust on 127.0.0.1) and `drop()`, which stops and removes it and never throws.
 */
export async function startOwnCluster(runId) {
  // The id names a cluster and a folder that the clean-up removes: letters, digits and _ only.
  if (!/^[A-Za-z0-9_]{1,40}$/.test(runId))
    throw new Error(`run id ${JSON.stringify(runId)}: not [A-Za-z0-9_]`);
  const ver = pgVersion();
  const name = `spendlens_t_${runId}`;
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = join(base, `spendlens-t-${runId}-pg`);
  const drop = async () => {
    if (existsSync(`/etc/postgresql/${ver}/${name}`))
      await run("pg_dropcluster", ["--stop", ver, name]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  await drop(); // a run with this id that died before its clean-up
  try {
    const port = await freePort();
    await run("pg_createcluster", [
      ver,
      name,
      ...["-p", String(port), "-d", dir, "--start-conf", "manual"],
      ...["-o", "fsync=off", "-o", "synchronous_commit=off", "-o", "full_page_writes=off"],
      ...["-o", "autovacuum=off", "-o", "max_connections=200"],
      "--",
      "--auth=trust",
      "--no-sync",
    ]);
    await run("pg_ctlcluster", [ver, name, "start"]);
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, drop };
  } catch (e) {
    await drop();
    throw e;
  }
}
