/**
 * State kept per database handle (a WeakMap keyed by the handle, made on first use), and the one
 * coalescing runner the folds share.
 */

/** A value per handle: `get` makes it with `make` on first use; `set` replaces it (null is a value). */
export interface PerHandle<K extends object, V> {
  get(k: K): V;
  set(k: K, v: V): void;
}

export function perHandle<K extends object, V>(make: (k: K) => V): PerHandle<K, V> {
  const map = new WeakMap<K, V>();
  return {
    get(k) {
      let v = map.get(k);
      if (v === undefined) {
        v = make(k);
        map.set(k, v);
      }
      return v;
    },
    set(k, v) {
      map.set(k, v);
    },
  };
}

/** The run in flight and the one queued to start after it. */
export interface Coalesced<T> {
  running: Promise<T> | null;
  next: Promise<T> | null;
}

export const coalesced = <T>(): Coalesced<T> => ({ running: null, next: null });

/**
 * A run that starts after this call, so it sees everything committed before the call: a new one when
 * none is running, else the running one's successor, shared by every caller that arrives while it runs
 * (concurrent callers cost one run). `settled` hears how each run it started ended.
 */
export function runAfterCurrent<T>(
  s: Coalesced<T>,
  run: () => Promise<T>,
  settled?: (ok: boolean, value: T | undefined) => void,
): Promise<T> {
  const start = (): Promise<T> => {
    const p = run();
    s.running = p;
    const done = (ok: boolean, value: T | undefined) => {
      if (s.running === p) s.running = null;
      settled?.(ok, value);
    };
    p.then(
      (v) => done(true, v),
      () => done(false, undefined),
    );
    return p;
  };
  if (!s.running) return start();
  if (!s.next) {
    const after = s.running.then(
      () => {},
      () => {},
    );
    s.next = after.then(() => {
      s.next = null;
      return start();
    });
  }
  return s.next;
}
