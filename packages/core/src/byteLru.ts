/**
 * A map bounded by the bytes of its values (`sizeOf`), least recently used out first: the one store of
 * the per-day report cache (reports/dayCache.ts), the aggregated route's days (activity/aggregatedCache.ts)
 * and the daily pages (activity/pageCache.ts). A Map keeps insertion order, so re-inserting on a hit
 * makes the first entry the least recently used one.
 */
export class ByteLru<V> {
  private readonly map = new Map<string, V>();
  private used = 0;
  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (v: V) => number,
  ) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v); // most recently used last
    }
    return v;
  }

  /** Stores `v` (replacing the key's value); a value larger than the whole bound is not kept. */
  set(key: string, v: V): void {
    this.delete(key);
    const n = this.sizeOf(v);
    if (n > this.maxBytes) return;
    this.map.set(key, v);
    this.used += n;
    this.evict();
  }

  /** Accounts for a stored value that grew by `by` bytes (`sizeOf` already gives its new size). */
  grew(by: number): void {
    this.used += by;
    this.evict();
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.used -= this.sizeOf(old);
      this.map.delete(key);
    }
  }

  /** Entries held. */
  get count(): number {
    return this.map.size;
  }

  /** Bytes held (the bound). */
  get bytes(): number {
    return this.used;
  }

  private evict(): void {
    for (const [k, v] of this.map) {
      if (this.used <= this.maxBytes) break;
      this.map.delete(k);
      this.used -= this.sizeOf(v);
    }
  }
}
