import { PGlite } from "@electric-sql/pglite";
const base = [
  "--single",
  "-F",
  "-O",
  "-j",
  "-c",
  "search_path=public",
  "-c",
  "exit_on_error=false",
  "-c",
  "log_checkpoints=false",
  "-c",
  "max_worker_processes=0",
  "-c",
  "max_parallel_workers=0",
  "-c",
  "max_parallel_workers_per_gather=0",
];
const p = await PGlite.create({
  dataDir: process.argv[2],
  ...(process.env.SB
    ? {
        startParams: [
          ...base,
          "-c",
          `shared_buffers=${process.env.SB}`,
          "-c",
          "max_wal_size=4GB",
          "-c",
          "wal_buffers=64MB",
        ],
      }
    : {}),
});
for (const q of process.argv.slice(3)) {
  const t = performance.now();
  try {
    const r = await p.query(q);
    console.log(Math.round(performance.now() - t), "ms", JSON.stringify(r.rows).slice(0, 1500));
  } catch (e) {
    console.log("ERR", e.message);
  }
}
await p.close();
