import { hashToken } from "../auth/hash.ts";
import { DEMO_DEPLOYMENTS, DEMO_TAGS, type DemoDeployment } from "./catalog.ts";

/** mulberry32: a small, fast, deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks an index by weight with a precomputed cumulative table. */
function weightedPicker(weights: number[]): (r: number) => number {
  const cum: number[] = [];
  let total = 0;
  for (const w of weights) {
    total += w;
    cum.push(total);
  }
  return (r: number) => {
    const x = r * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

export interface DemoTeam {
  team_id: string;
  team_alias: string;
}
export interface DemoUser {
  user_id: string;
  user_role: string;
  team_id: string | null;
  user_email: string;
}
export interface DemoKey {
  raw: string;
  token: string;
  key_alias: string;
  key_name: string;
  user_id: string;
  team_id: string | null;
  deployments: number[];
  endUsers: string[];
}

export interface DemoWorld {
  teams: DemoTeam[];
  users: DemoUser[];
  keys: DemoKey[];
  endUsers: string[];
  keyPicker: (r: number) => number;
}

export interface WorldOptions {
  seed?: number;
  teams?: number;
  users?: number;
  keys?: number;
  endUsers?: number;
}

/** The demo world's people and keys. Raw demo keys are `sk-demo-<n>`: known, so they can be tried. */
export function buildWorld(opts: WorldOptions = {}): DemoWorld {
  const seed = opts.seed ?? 42;
  const rnd = prng(seed * 7919 + 1);
  const nTeams = opts.teams ?? 24;
  const nUsers = opts.users ?? 300;
  const nKeys = opts.keys ?? 2000;
  const nEnd = opts.endUsers ?? 400;
  const teamNames = [
    "platform",
    "search",
    "growth",
    "support",
    "data",
    "ml",
    "mobile",
    "web",
    "infra",
    "security",
    "finance",
    "legal",
  ];
  const teams: DemoTeam[] = Array.from({ length: nTeams }, (_, i) => ({
    team_id: `team-${String(i + 1).padStart(3, "0")}`,
    team_alias: `${teamNames[i % teamNames.length]}${i >= teamNames.length ? `-${Math.floor(i / teamNames.length) + 1}` : ""}`,
  }));
  const users: DemoUser[] = Array.from({ length: nUsers }, (_, i) => {
    const r = rnd();
    return {
      user_id: `user-${String(i + 1).padStart(4, "0")}`,
      user_role:
        i === 0
          ? "proxy_admin"
          : i < 4
            ? "proxy_admin_viewer"
            : r < 0.1
              ? "internal_user_viewer"
              : "internal_user",
      team_id: rnd() < 0.9 ? teams[Math.floor(rnd() * teams.length)]!.team_id : null,
      user_email: `user${i + 1}@example.com`,
    };
  });
  const endUsers = Array.from({ length: nEnd }, (_, i) => `customer-${String(i + 1).padStart(4, "0")}`);
  const depPick = weightedPicker(DEMO_DEPLOYMENTS.map((d) => d.weight));
  const keys: DemoKey[] = Array.from({ length: nKeys }, (_, i) => {
    const user = users[Math.floor(rnd() * users.length)]!;
    const raw = `sk-demo-${i + 1}`;
    // Most keys use 1-3 models, a few use more.
    const r = rnd();
    const nModels = r < 0.45 ? 1 : r < 0.75 ? 2 : r < 0.92 ? 3 : 4 + Math.floor(rnd() * 3);
    const deployments = new Set<number>();
    while (deployments.size < nModels) deployments.add(depPick(rnd()));
    const nCust = rnd() < 0.5 ? 0 : 1 + Math.floor(rnd() * 4);
    return {
      raw,
      token: hashToken(raw),
      key_alias: `${user.user_id}-key-${i + 1}`,
      key_name: `sk-...${raw.slice(-4)}`,
      user_id: user.user_id,
      team_id: rnd() < 0.85 ? user.team_id : null,
      deployments: [...deployments],
      endUsers: Array.from({ length: nCust }, () => endUsers[Math.floor(rnd() * endUsers.length)]!),
    };
  });
  // Skewed spend: a few heavy keys (Zipf-like weights).
  const keyPicker = weightedPicker(keys.map((_, i) => 1 / (i + 1) ** 1.1));
  return { teams, users, keys, endUsers, keyPicker };
}

export interface DemoLog {
  request_id: string;
  call_type: string;
  api_key: string;
  spend: number;
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  startTime: string;
  endTime: string;
  model: string;
  model_id: string;
  model_group: string;
  custom_llm_provider: string;
  api_base: string;
  user: string;
  metadata: string;
  cache_hit: string;
  request_tags: string;
  team_id: string | null;
  end_user: string | null;
  status: string;
}

export interface DemoErrorLog {
  request_id: string;
  startTime: string;
  endTime: string;
  api_base: string;
  model_group: string;
  litellm_model_name: string;
  model_id: string;
  exception_type: string;
  status_code: string;
}

export interface LogStreamOptions {
  seed?: number;
  /** How many days back from `end` the logs spread over. Default 90. */
  days?: number;
  /** The latest instant; default now. */
  end?: Date;
  /** Share of requests that also leave an error log. Default 0.03. */
  errorRate?: number;
}

// Requests per hour of day (UTC), a working-day curve, and per weekday (Sun..Sat).
const HOUR_WEIGHTS = [2, 1.5, 1, 1, 1, 1.5, 3, 5, 8, 10, 11, 11, 10, 11, 11, 10, 9, 8, 6, 5, 4, 3, 3, 2];
const WEEKDAY_WEIGHTS = [0.45, 1, 1.05, 1.05, 1.05, 0.95, 0.5];

/** log-normal-ish token counts with a long tail. */
function tokens(rnd: () => number, median: number): number {
  const g = (rnd() + rnd() + rnd() - 1.5) * 1.6;
  return Math.max(1, Math.round(median * Math.exp(g)));
}

/**
 * Splits `count` over the days in proportion to their weights (largest remainders get the leftover
 * units), so the days' counts add up to `count` exactly.
 */
function allocate(count: number, weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (count * w) / total);
  const out = exact.map(Math.floor);
  let left = count - out.reduce((a, b) => a + b, 0);
  const order = exact
    .map((x, i) => [x - Math.floor(x), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]![1]]!++;
  return out;
}

/**
 * Generates logs one at a time, deterministically from the seed: the same seed and count give the same
 * rows (request ids `demo-<seed>-<n>`), so a repeated seed run adds nothing twice.
 *
 * Days come in order (the first day's requests, then the next day's, ...; times within a day are
 * random), as a gateway writes them. This is also what keeps a bulk load cheap: each chunk of a seed
 * touches a few days of rollup rows and the right-hand edge of the ("startTime"), (api_key, "startTime"),
 * … indexes, instead of every day and page of them (measured in docs/scaling.md).
 */
export function* generateLogs(
  world: DemoWorld,
  count: number,
  opts: LogStreamOptions = {},
): Generator<{ log: DemoLog; error: DemoErrorLog | null }> {
  const seed = opts.seed ?? 42;
  const rnd = prng(seed);
  const days = opts.days ?? 90;
  const end = (opts.end ?? new Date()).getTime();
  const endDay = Math.floor(end / 86_400_000);
  const firstDay = endDay - days + 1;
  const dayWeights = Array.from({ length: days }, (_, i) => {
    const d = new Date((firstDay + i) * 86_400_000);
    const growth = 0.7 + (0.6 * i) / days; // traffic grows over the period
    return WEEKDAY_WEIGHTS[d.getUTCDay()]! * growth;
  });
  const perDay = allocate(count, dayWeights);
  const hourPick = weightedPicker(HOUR_WEIGHTS);
  const tagCountPick = weightedPicker([40, 30, 20, 10]);
  let dayIndex = 0;
  let leftToday = perDay[0] ?? 0;
  for (let n = 0; n < count; n++) {
    while (leftToday === 0) leftToday = perDay[++dayIndex]!;
    leftToday--;
    const key = world.keys[world.keyPicker(rnd())]!;
    const dep: DemoDeployment =
      DEMO_DEPLOYMENTS[key.deployments[Math.floor(rnd() * key.deployments.length)]!]!;
    const day = firstDay + dayIndex;
    let start = day * 86_400_000 + hourPick(rnd()) * 3_600_000 + Math.floor(rnd() * 3_600_000);
    if (start > end) start = end - Math.floor(rnd() * 3_600_000);
    const prompt = tokens(rnd, 900);
    const completion = tokens(rnd, 250);
    const cached = rnd() < 0.05;
    const spend = cached ? 0 : prompt * dep.input + completion * dep.output;
    const latency = 300 + Math.floor(rnd() * 4000 + (completion / 100) * 1000);
    const nTags = tagCountPick(rnd());
    const tags = new Set<string>();
    while (tags.size < nTags) tags.add(DEMO_TAGS[Math.floor(rnd() * DEMO_TAGS.length)]!);
    // Old LiteLLM rows sometimes hold a non-array in request_tags.
    const requestTags = rnd() < 0.001 ? JSON.stringify({ legacy: [...tags] }) : JSON.stringify([...tags]);
    const endUser = key.endUsers.length ? key.endUsers[Math.floor(rnd() * key.endUsers.length)]! : null;
    const requestId = `demo-${seed}-${n}`;
    const startIso = new Date(start).toISOString();
    const log: DemoLog = {
      request_id: requestId,
      call_type: "acompletion",
      api_key: key.token,
      spend,
      total_tokens: prompt + completion,
      prompt_tokens: prompt,
      completion_tokens: completion,
      startTime: startIso,
      endTime: new Date(start + latency).toISOString(),
      model: dep.model,
      model_id: dep.modelId,
      model_group: dep.modelGroup,
      custom_llm_provider: dep.provider,
      api_base: dep.apiBase,
      user: key.user_id,
      metadata: JSON.stringify({ user_api_key_alias: key.key_alias }),
      cache_hit: cached ? "True" : "False",
      request_tags: requestTags,
      team_id: key.team_id,
      end_user: endUser,
      status: "success",
    };
    let error: DemoErrorLog | null = null;
    if (rnd() < (opts.errorRate ?? 0.03)) {
      const is429 = rnd() < 0.8;
      error = {
        request_id: `demo-err-${seed}-${n}`,
        startTime: startIso,
        endTime: new Date(start + 50 + Math.floor(rnd() * 500)).toISOString(),
        api_base: dep.apiBase,
        model_group: dep.modelGroup,
        litellm_model_name: dep.model,
        model_id: dep.modelId,
        exception_type: is429 ? "RateLimitError" : "InternalServerError",
        status_code: is429 ? "429" : "500",
      };
    }
    yield { log, error };
  }
}
