import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

/** The JWKS could not be read and no earlier copy is held: signatures cannot be checked. */
export class JwksUnavailableError extends Error {}

type Header = Parameters<JWTVerifyGetKey>[0];
type Token = Parameters<JWTVerifyGetKey>[1];

/**
 * The service's public keys, held in the isolate. Read once, re-read when older than `maxAgeMs`
 * (the JWKS `max-age`), and re-read early when a token names an unknown `kid` (a key was just
 * promoted, see docs/keys.md), at most once per `refetchIntervalMs` so a stream of forged `kid`s
 * cannot turn every request into a JWKS fetch. Keys are parsed by jose (`createLocalJWKSet`).
 */
export class JwksCache {
  #keys: JWTVerifyGetKey | null = null;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | null = null;

  constructor(
    readonly maxAgeMs = 300_000,
    readonly refetchIntervalMs = 30_000,
  ) {}

  async keyFor(
    header: Header,
    token: Token,
    fetchJwks: () => Promise<Response>,
    nowMs: number,
  ): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> {
    // The service names its key in every token, and refuses one that names none; jose would check
    // such a token against whichever published key fits its algorithm.
    if (typeof header.kid !== "string") throw new errors.JWKSNoMatchingKey("The token names no key (kid)");
    if (!this.#keys || nowMs - this.#fetchedAt >= this.maxAgeMs) await this.#refresh(fetchJwks, nowMs);
    try {
      return await this.#keys!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || nowMs - this.#attemptedAt < this.refetchIntervalMs) throw error;
      await this.#refresh(fetchJwks, nowMs);
      return this.#keys!(header, token);
    }
  }

  #refresh(fetchJwks: () => Promise<Response>, nowMs: number): Promise<void> {
    // Concurrent requests share one fetch.
    this.#pending ??= this.#load(fetchJwks, nowMs).finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #load(fetchJwks: () => Promise<Response>, nowMs: number): Promise<void> {
    this.#attemptedAt = nowMs;
    try {
      const response = await fetchJwks();
      if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
      this.#keys = createLocalJWKSet((await response.json()) as JSONWebKeySet);
      this.#fetchedAt = nowMs;
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "JWKS fetch failed", error: String(error) }));
      // A stale copy keeps verifying (keys stay published long after they stop signing); none at all cannot.
      if (!this.#keys) throw new JwksUnavailableError("The JWKS could not be read");
    }
  }
}
