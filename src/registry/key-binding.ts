import type { DpopProof } from "../contract/dpop";
import type { RegistryRow } from "./schema";

/**
 * More proofs than this within one window (about a minute) is not a person using their devices;
 * past it proofs are refused, so the replay cache stays bounded (fail closed).
 */
const MAX_REMEMBERED_PROOFS = 4096;
/** How far ahead the high-water mark is written: at most one storage write a minute while proofs arrive. */
const MARK_STEP_MS = 60_000;
/** One `dpop_proof_rejected` event per session per this long: the evidence, not a flood of it. */
const REJECTION_EVENT_INTERVAL_MS = 60_000;

export type ProofRefusal = "wrong_key" | "replayed" | "use_dpop_nonce" | "too_many_proofs";

/**
 * The user's DPoP state: which key each bound session has, and the replay cache (RFC 9449 §11.1):
 * every `jti` accepted within its proof's window, in memory, checked and recorded in the same
 * synchronous step as liveness, so two requests with one proof cannot both pass.
 *
 * Memory is lost when the object restarts, so before it accepts anything a new instance works out
 * which proofs an earlier one may have accepted: every accepted proof was accepted no later than
 * `dpop_replay.accepted_until` (written ahead, at most once a minute) and no later than this boot,
 * so its `iat` is at most `min(mark, boot) + skew`. A proof with such an `iat` is refused with
 * `use_dpop_nonce` unless it carries a server nonce issued after this boot, which proves it is new;
 * an honest client retries once with the nonce offered (docs/storage-schema.md, "DPoP replay state").
 */
export class KeyBindings {
  readonly #keys = new Map<string, string>();
  /** jti -> until when it must be refused (ms). Insertion order is roughly expiry order. */
  readonly #seen = new Map<string, number>();
  readonly #lastRejectionEvent = new Map<string, number>();
  #acceptedUntil: number;
  readonly #bootAt: number;
  readonly #distrustIatUpToMs: number;

  constructor(
    private readonly sql: SqlStorage,
    private readonly window: () => { maxAgeMs: number; skewMs: number },
    now: number,
  ) {
    for (const row of sql.exec<Pick<RegistryRow, "id" | "dpop_jkt">>(
      "SELECT id, dpop_jkt FROM sessions WHERE dpop_jkt IS NOT NULL AND revoked_at IS NULL AND expires_at > ?",
      now,
    )) {
      if (row.dpop_jkt !== null) this.#keys.set(row.id, row.dpop_jkt);
    }
    this.#acceptedUntil = sql.exec<{ accepted_until: number }>("SELECT accepted_until FROM dpop_replay").one().accepted_until;
    this.#bootAt = now;
    this.#distrustIatUpToMs = this.#acceptedUntil === 0 ? 0 : Math.min(this.#acceptedUntil, now) + window().skewMs;
  }

  /** The key a session is bound to, or null for an unbound one. */
  keyOf(sessionId: string): string | null {
    return this.#keys.get(sessionId) ?? null;
  }

  bind(sessionId: string, jkt: string): void {
    this.#keys.set(sessionId, jkt);
  }

  forget(sessionId: string): void {
    this.#keys.delete(sessionId);
    this.#lastRejectionEvent.delete(sessionId);
  }

  /** A proof for a bound session: by its key, new, and then remembered. Null when admitted. */
  admit(sessionId: string, proof: DpopProof, now: number): ProofRefusal | null {
    if (this.#keys.get(sessionId) !== proof.jkt) return "wrong_key";
    return this.remember(proof, now);
  }

  /** Records a proof's `jti` unless it was seen (or may have been, before a restart). Null when new. */
  remember(proof: DpopProof, now: number): ProofRefusal | null {
    if (proof.iat * 1000 <= this.#distrustIatUpToMs && (proof.nonceAt === null || proof.nonceAt < this.#bootAt)) return "use_dpop_nonce";
    this.#prune(now);
    const until = this.#seen.get(proof.jti);
    if (until !== undefined && until > now) return "replayed";
    if (this.#seen.size >= MAX_REMEMBERED_PROOFS) return "too_many_proofs";
    const { maxAgeMs, skewMs } = this.window();
    // Refused by its iat once this is past (iat + max age + skew); one more second for rounding.
    this.#seen.set(proof.jti, proof.iat * 1000 + maxAgeMs + skewMs + 1000);
    if (now >= this.#acceptedUntil) {
      this.#acceptedUntil = now + MARK_STEP_MS;
      this.sql.exec("UPDATE dpop_replay SET accepted_until = ?", this.#acceptedUntil);
    }
    return null;
  }

  /** Whether a refused refresh should become a security event now (one per session a minute). */
  recordRejection(sessionId: string, now: number): boolean {
    const last = this.#lastRejectionEvent.get(sessionId);
    if (last !== undefined && now - last < REJECTION_EVENT_INTERVAL_MS) return false;
    this.#lastRejectionEvent.set(sessionId, now);
    return true;
  }

  #prune(now: number): void {
    for (const [jti, until] of this.#seen) {
      if (until > now) break;
      this.#seen.delete(jti);
    }
    if (this.#seen.size < MAX_REMEMBERED_PROOFS) return;
    for (const [jti, until] of this.#seen) if (until <= now) this.#seen.delete(jti);
  }
}

export type RefreshProofCheck =
  | { ok: true }
  | { ok: false; code: "use_dpop_nonce" }
  | {
      ok: false;
      code: "invalid_dpop_proof";
      event: { reason: "missing" | "invalid" | "wrong_key" | "replayed"; jkt: string | null } | null;
    };

/**
 * What a refresh's proof says for its session. A bound session needs a proof by its key: anything
 * else is refused with the evidence for the security history (the session is not touched). An
 * unbound session stays unbound: a valid proof changes nothing, an invalid one is still refused.
 */
export function checkRefreshProof(
  keys: KeyBindings,
  sessionId: string,
  presented: { proof: DpopProof | null; defect?: "missing" | "invalid" | undefined } | undefined,
  now: number,
): RefreshProofCheck {
  const bound = keys.keyOf(sessionId) !== null;
  if (!bound) return presented?.defect === "invalid" ? { ok: false, code: "invalid_dpop_proof", event: null } : { ok: true };
  const proof = presented?.proof ?? null;
  if (proof === null) {
    return { ok: false, code: "invalid_dpop_proof", event: { reason: presented?.defect === "invalid" ? "invalid" : "missing", jkt: null } };
  }
  const refusal = keys.admit(sessionId, proof, now);
  if (refusal === null) return { ok: true };
  if (refusal === "use_dpop_nonce") return { ok: false, code: "use_dpop_nonce" };
  const reason = refusal === "wrong_key" ? "wrong_key" : refusal === "replayed" ? "replayed" : "invalid";
  return { ok: false, code: "invalid_dpop_proof", event: { reason, jkt: proof.jkt } };
}
