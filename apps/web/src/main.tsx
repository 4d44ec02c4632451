import { QueryClientProvider } from "@tanstack/react-query";
import { StrictMode, useEffect, useMemo, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { httpStatusOf, makeClient, makeQueryClient, storedKey, storeKey, type Whoami } from "./api.ts";
import { AuthContext } from "./auth.ts";
import { Shell } from "./shell.tsx";
import "./style.css";

/** `#key=…` (the link `spendlens serve` prints) signs in once and leaves the address bar. */
function takeKeyFromHash(): void {
  const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (m) {
    storeKey(decodeURIComponent(m[1]!));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

const WRONG_KEY = "That key was not accepted: it is wrong, expired or revoked.";

function App() {
  const [key, setKey] = useState<string | null>(() => {
    takeKeyFromHash();
    return storedKey();
  });
  const [who, setWho] = useState<Whoami | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);
  const signOutRef = useRef<(msg?: string) => void>(() => {});
  const queryClient = useMemo(() => makeQueryClient(() => signOutRef.current(WRONG_KEY)), []);
  const client = useMemo(() => (key ? makeClient(key) : null), [key]);

  signOutRef.current = (msg?: string) => {
    storeKey(null);
    queryClient.clear();
    setWho(null);
    setKey(null);
    setMessage(msg ?? null);
  };

  useEffect(() => {
    if (!client || who) return;
    let live = true;
    setChecking(true);
    client.auth.whoami
      .query()
      .then((w) => {
        if (!live) return;
        setWho(w);
        setMessage(null);
      })
      .catch((e: unknown) => {
        if (!live) return;
        if (httpStatusOf(e) === 401) signOutRef.current(WRONG_KEY);
        else {
          setMessage(`Could not sign in: ${e instanceof Error ? e.message : String(e)}`);
          storeKey(null);
          setKey(null);
        }
      })
      .finally(() => live && setChecking(false));
    return () => {
      live = false;
    };
  }, [client, who]);

  if (client && !who && checking) {
    // A stored key is being checked: no sign-in form flashing by.
    return (
      <main className="signin">
        <p className="muted">Signing in…</p>
      </main>
    );
  }
  if (!client || !who) {
    return (
      <SignIn
        busy={checking}
        message={message}
        onSubmit={(k) => {
          setMessage(null);
          storeKey(k);
          setKey(k);
        }}
      />
    );
  }
  return (
    <QueryClientProvider client={queryClient}>
      <AuthContext.Provider value={{ client, who, signOut: () => signOutRef.current() }}>
        <Shell />
      </AuthContext.Provider>
    </QueryClientProvider>
  );
}

function SignIn(props: { busy: boolean; message: string | null; onSubmit: (key: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <main className="signin">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const k = value.trim();
          if (k) props.onSubmit(k);
        }}
      >
        <h1>spendlens</h1>
        <p className="muted">Sign in with the master key or a virtual key (sk-…).</p>
        <label htmlFor="key">API key</label>
        <input
          id="key"
          name="key"
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="sk-…"
        />
        <button type="submit" disabled={props.busy || !value.trim()}>
          {props.busy ? "Checking…" : "Sign in"}
        </button>
        {props.message ? (
          <p className="error" role="alert" data-testid="signin-error">
            {props.message}
          </p>
        ) : null}
      </form>
    </main>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
