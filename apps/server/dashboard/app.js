// spendlens dashboard: plain JS over the REST routes, with the key kept in this browser only.
(() => {
  const $ = (id) => document.getElementById(id);
  const iso = (d) => d.toISOString().slice(0, 10);
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86400000);
  // A link may carry the key in its fragment (never sent to the server): keep it here, then drop it from the URL.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromHash) {
    localStorage.setItem("spendlens.key", fromHash);
    history.replaceState(null, "", location.pathname);
  }
  $("key").value = localStorage.getItem("spendlens.key") || "";
  $("start").value = localStorage.getItem("spendlens.start") || iso(monthAgo);
  $("end").value = localStorage.getItem("spendlens.end") || iso(today);

  const money = (v) =>
    typeof v === "number" ? `$${v.toLocaleString(undefined, { maximumFractionDigits: v < 1 ? 6 : 2 })}` : "–";
  const count = (v) => (typeof v === "number" ? v.toLocaleString() : "–");
  const charts = {};

  async function api(path, init = {}) {
    const res = await fetch(path, {
      ...init,
      headers: { authorization: `Bearer ${$("key").value}`, "content-type": "application/json" },
    });
    const body = await res.json().catch(() => null);
    if (!res.ok)
      throw new Error(body?.error?.message ? `${res.status}: ${body.error.message}` : `HTTP ${res.status}`);
    return body;
  }

  function table(el, rows, cols) {
    const node = $(el);
    if (!Array.isArray(rows) || !rows.length) {
      node.innerHTML = '<p class="muted">no data</p>';
      return;
    }
    const t = document.createElement("table");
    const head = t.createTHead().insertRow();
    for (const c of cols) {
      const th = document.createElement("th");
      th.textContent = c.label;
      if (c.num) th.className = "num";
      head.appendChild(th);
    }
    const tb = t.createTBody();
    for (const r of rows) {
      const tr = tb.insertRow();
      for (const c of cols) {
        const td = tr.insertCell();
        const v = typeof c.get === "function" ? c.get(r) : r[c.key];
        td.textContent = c.fmt ? c.fmt(v) : (v ?? "");
        td.title = td.textContent;
        if (c.num) td.className = "num";
      }
    }
    node.replaceChildren(t);
  }

  function fail(el, err) {
    $(el).innerHTML = "";
    const p = document.createElement("p");
    p.className = "err";
    p.textContent = err.message;
    $(el).appendChild(p);
  }

  function chart(id, type, labels, data, label) {
    charts[id]?.destroy();
    if (typeof Chart === "undefined") return;
    charts[id] = new Chart($(id), {
      type,
      data: {
        labels,
        datasets: [
          {
            label,
            data,
            borderColor: "#2f6fde",
            backgroundColor: "rgba(47,111,222,.35)",
            tension: 0.2,
            fill: type === "line",
          },
        ],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true } },
        animation: false,
      },
    });
  }

  const chartError = (id, err) => {
    document.querySelector(`.err[data-for="${id}"]`).textContent = err ? err.message : "";
  };

  async function load() {
    const start = $("start").value;
    const end = $("end").value;
    localStorage.setItem("spendlens.key", $("key").value);
    localStorage.setItem("spendlens.start", start);
    localStorage.setItem("spendlens.end", end);
    const range = `start_date=${start}&end_date=${end}`;
    const tasks = [
      api("/global/spend").then(
        (r) => {
          $("total-spend").textContent = money(r.spend);
          $("max-budget").textContent = r.max_budget ? `max budget ${money(r.max_budget)}` : "";
        },
        (e) => {
          $("total-spend").textContent = "–";
          $("max-budget").textContent = e.message;
        },
      ),
      api(`/global/activity?${range}`).then(
        (r) => {
          $("total-requests").textContent = count(r.sum_api_requests);
          $("total-tokens").textContent = count(r.sum_total_tokens);
          chartError("activity-chart");
          chart(
            "activity-chart",
            "bar",
            r.daily_data.map((d) => d.date_iso ?? d.date),
            r.daily_data.map((d) => d.api_requests),
            "requests",
          );
        },
        (e) => chartError("activity-chart", e),
      ),
      api("/global/spend/logs").then(
        (rows) => {
          chartError("spend-chart");
          chart(
            "spend-chart",
            "line",
            rows.map((d) => d.date),
            rows.map((d) => d.spend),
            "spend",
          );
        },
        (e) => chartError("spend-chart", e),
      ),
      api("/global/spend/keys?limit=10").then(
        (rows) =>
          table("top-keys", rows, [
            { label: "key", get: (r) => r.key_alias || r.key_name || `${String(r.api_key).slice(0, 10)}…` },
            { label: "spend", key: "total_spend", fmt: money, num: true },
          ]),
        (e) => fail("top-keys", e),
      ),
      api("/global/spend/models?limit=10").then(
        (rows) =>
          table("top-models", rows, [
            { label: "model", key: "model" },
            { label: "spend", key: "total_spend", fmt: money, num: true },
          ]),
        (e) => fail("top-models", e),
      ),
      api(`/global/spend/provider?${range}`).then(
        (rows) =>
          table("providers", rows, [
            { label: "provider", key: "provider" },
            { label: "spend", key: "spend", fmt: money, num: true },
          ]),
        (e) => fail("providers", e),
      ),
      api(`/global/spend/tags?${range}`).then(
        (r) =>
          table("tags", r.spend_per_tag ?? r, [
            { label: "tag", key: "name" },
            { label: "spend", key: "spend", fmt: money, num: true },
            { label: "requests", key: "log_count", fmt: count, num: true },
          ]),
        (e) => fail("tags", e),
      ),
      api("/provider/budgets").then(
        (r) =>
          table(
            "budgets",
            Object.entries(r.providers || {}).map(([p, b]) => ({ provider: p, ...b })),
            [
              { label: "provider", key: "provider" },
              { label: "limit", key: "budget_limit", fmt: money, num: true },
              { label: "period", key: "time_period" },
              { label: "spend", key: "spend", fmt: money, num: true },
              { label: "resets", key: "budget_reset_at" },
            ],
          ),
        (e) => fail("budgets", e),
      ),
      api(`/spend/logs/ui?start_date=${start}%2000:00:00&end_date=${end}%2023:59:59&page_size=20`).then(
        (r) =>
          table("logs", r.data, [
            { label: "time", key: "startTime" },
            { label: "model", key: "model" },
            { label: "user", key: "user" },
            { label: "team", key: "team_id" },
            { label: "tokens", key: "total_tokens", fmt: count, num: true },
            { label: "spend", key: "spend", fmt: money, num: true },
            { label: "request", key: "request_id" },
          ]),
        (e) => fail("logs", e),
      ),
    ];
    await Promise.allSettled(tasks);
  }

  $("controls").addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });
  if ($("key").value) load();
})();
