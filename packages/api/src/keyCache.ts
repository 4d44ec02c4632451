import { createHash, timingSafeEqual } from "node:crypto";
import { type Caller, type Db, expiredAt, keyExpired, type VerifiedKey, verifyKey } from "@spendlens/core";

/**
 * Verified virtual keys, kept for a short time so that a caller's requests do not each look its key up
 * in the database (one round trip per request, the largest part of a small answer's time besides its
 * own statements). Per server process; nothing is shared between replicas.
 *
 * What a cached key may do that the database would refuse, and for how long (the bound, `ttlMs`, from
 * the moment it was looked up, on every replica alike): a key that was blocked, deleted, or whose
 * user's role or key metadata changed is refused (or given its new role) at most `ttlMs` after the
 * change. Expiry is checked on every request against the cached `expires`, so an expired key is refused
 * at once. Only accepted keys are kept: a wrong key is looked up every time (a new key works at once),
 * and nothing about wrong keys fills the memory. The master key never needs the database.
 * Entries are keyed by the sha256 of the key (the raw key is not kept).
 */
export class VerifiedKeys {
  private readonly entries = new Map<string, { key: VerifiedKey; until: number }>();
  private readonly pending = new Map<string, Promise<VerifiedKey>>();
  /** The sha256 of the last master key seen (the server's one key: hashed once, not per request). */
  private master: { key: string; digest: Buffer } | null = null;

  constructor(
    /** How long a looked-up key is trusted (ms); 0 turns the cache off. */
    readonly ttlMs: number,
    /** Keys kept at most (the oldest lookups are dropped first). */
    readonly maxEntries = 10_000,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** The caller of a bearer key, as `authenticate` would answer it (the same 401s), from the cache when fresh. */
  async authenticate(
    db: Db,
    bearer: string | null | undefined,
    masterKey: string | undefined,
  ): Promise<Caller> {
    if (this.ttlMs <= 0 || !bearer) return (await verifyKey(db, bearer, masterKey)).caller;
    const digest = createHash("sha256").update(bearer, "utf8").digest();
    // The master key (compared in constant time, as `authenticate` does) needs no lookup.
    if (masterKey && timingSafeEqual(digest, this.masterDigest(masterKey)))
      return (await verifyKey(db, bearer, masterKey)).caller;
    const id = digest.toString("base64");
    const hit = this.entries.get(id);
    const t = this.clock();
    if (hit && hit.until > t) {
      if (hit.key.expiresAt !== null && expiredAt(hit.key.expiresAt)) {
        this.entries.delete(id);
        throw keyExpired();
      }
      return hit.key.caller;
    }
    if (hit) this.entries.delete(id);
    // Concurrent requests with the same key share one lookup.
    let p = this.pending.get(id);
    if (!p) {
      p = verifyKey(db, bearer, masterKey);
      this.pending.set(id, p);
      const started = t;
      p.then(
        (key) => {
          this.pending.delete(id);
          // Trusted from the lookup's start: the bound holds from the moment the database answered or before.
          this.entries.set(id, { key, until: started + this.ttlMs });
          while (this.entries.size > this.maxEntries) {
            const oldest = this.entries.keys().next().value;
            if (oldest === undefined) break;
            this.entries.delete(oldest);
          }
        },
        () => this.pending.delete(id),
      );
    }
    return (await p).caller;
  }

  private masterDigest(masterKey: string): Buffer {
    if (this.master?.key !== masterKey)
      this.master = { key: masterKey, digest: createHash("sha256").update(masterKey, "utf8").digest() };
    return this.master.digest;
  }

  /** Keys held now (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
