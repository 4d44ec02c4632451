import { Route, Switch, useLocation } from "wouter";
import { isAdmin, useAuth } from "./auth.ts";
import { ENTITIES, type EntityKind, safeDecode } from "./entities.ts";
import { addDays, allZones, dayIn } from "./format.ts";
import { ViewLink } from "./link.tsx";
import { ActivityPage } from "./pages/activity.tsx";
import { BudgetsPage } from "./pages/budgets.tsx";
import { EntityListPage, EntityPage } from "./pages/entity.tsx";
import { LogsPage } from "./pages/logs.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { useView } from "./view.ts";

const NAV: { to: string; label: string }[] = [
  { to: "/", label: "Overview" },
  { to: "/logs", label: "Logs" },
  ...(Object.keys(ENTITIES) as EntityKind[]).map((k) => ({ to: `/${k}`, label: ENTITIES[k].title })),
  { to: "/activity", label: "Activity" },
  { to: "/budgets", label: "Budgets" },
];

/** A labelled date input; an emptied input changes nothing. */
function DayInput(props: {
  label: string;
  name: string;
  value: string;
  min?: string;
  max?: string;
  onDay: (day: string) => void;
}) {
  return (
    <label>
      {props.label}{" "}
      <input
        type="date"
        name={props.name}
        value={props.value}
        min={props.min}
        max={props.max}
        onChange={(e) => e.target.value && props.onDay(e.target.value)}
      />
    </label>
  );
}

function RangeBar() {
  const { view, setView } = useView();
  const zones = allZones();
  const preset = (n: number) => {
    const to = dayIn(view.tz);
    setView({ from: addDays(to, -(n - 1)), to });
  };
  return (
    <div className="rangebar" data-testid="rangebar">
      <DayInput
        label="From"
        name="from"
        value={view.from}
        max={view.to}
        onDay={(from) => setView({ from })}
      />
      <DayInput label="to" name="to" value={view.to} min={view.from} onDay={(to) => setView({ to })} />
      <span className="presets">
        {[7, 30, 90].map((n) => (
          <button key={n} type="button" className="link" onClick={() => preset(n)}>
            {n}d
          </button>
        ))}
      </span>
      <label>
        Time zone{" "}
        <select name="tz" value={view.tz} onChange={(e) => setView({ tz: e.target.value })}>
          {(zones.includes(view.tz) ? zones : [view.tz, ...zones]).map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

export function Shell() {
  const { who, signOut } = useAuth();
  const [path] = useLocation();
  const active = (to: string) => (to === "/" ? path === "/" : path === to || path.startsWith(`${to}/`));
  return (
    <div className="shell">
      <header className="top">
        <span className="brand">spendlens</span>
        <nav>
          {NAV.map((n) => (
            <ViewLink key={n.to} to={n.to} className={active(n.to) ? "active" : ""}>
              {n.label}
            </ViewLink>
          ))}
        </nav>
        <span className="who" data-testid="who">
          {who.role}
          {who.user_id ? ` · ${who.user_id}` : ""}
          {isAdmin(who) ? "" : " (your own data)"}
        </span>
        <button type="button" onClick={signOut} data-testid="signout">
          Sign out
        </button>
      </header>
      <RangeBar />
      <main>
        <Switch>
          <Route path="/" component={OverviewPage} />
          <Route path="/logs" component={LogsPage} />
          <Route path="/activity" component={ActivityPage} />
          <Route path="/budgets" component={BudgetsPage} />
          <Route path="/:kind/:id">
            {(p) =>
              p.kind in ENTITIES ? (
                <EntityPage kind={p.kind as EntityKind} id={safeDecode(p.id)} />
              ) : (
                <NotFound />
              )
            }
          </Route>
          <Route path="/:kind">
            {(p) => (p.kind in ENTITIES ? <EntityListPage kind={p.kind as EntityKind} /> : <NotFound />)}
          </Route>
          <Route>
            <NotFound />
          </Route>
        </Switch>
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <section className="panel">
      <h2>No such page</h2>
      <ViewLink to="/">Back to the overview</ViewLink>
    </section>
  );
}
