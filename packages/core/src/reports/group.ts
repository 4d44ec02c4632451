/** Appends `v` to the list under `k`, keeping first-seen key order. */
export function pushGrouped<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
