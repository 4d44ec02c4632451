import { openRuntime, settingsFromEnv, seedDemoData } from "./src/index.ts";
const rss = () => Math.round(process.memoryUsage().rss / 1048576);
const dir = process.argv[2];
const n = Number(process.argv[3]);
let t = performance.now();
const rt = await openRuntime(settingsFromEnv({}, { dataDir: dir }));
console.log("open+migrate", Math.round(performance.now() - t), "ms rss", rss());
t = performance.now();
let last = t;
const r = await seedDemoData(rt.handle, {
  logs: n,
  onProgress: (w) => {
    const now = performance.now();
    console.log(w, Math.round(now - last), "ms", rss());
    last = now;
  },
  onRebuild: (d, tot) => {},
});
const s = (performance.now() - t) / 1000;
console.log(
  "seed",
  r.logs,
  s.toFixed(1),
  "s",
  Math.round(r.logs / s),
  "logs/s",
  "rebuild+fold",
  Math.round(performance.now() - last),
  "ms rss",
  rss(),
);
await rt.close();
