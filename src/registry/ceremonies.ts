import type { AuthenticationResponseJSON, AuthMethod, RegistrationResponseJSON } from "../contract/auth";
import { MAX_PASSKEYS, type PasskeyChallenge, type PasskeyRejected, type PasskeyResult } from "../contract/passkeys";
import { deviceDetails, type Place, placeDetails } from "../contract/place";
import type { NewEvent } from "../contract/security-events";
import type { DeviceJson } from "../contract/wire";
import type { RelyingParty } from "../shared/config";
import { readSignInChallenge } from "../shared/sign-in-challenge";
import { type CeremonyPurpose, type PasskeyStore, passkeyView, userHandleOf } from "./passkeys";
import type { PasskeyRow } from "./schema";
import { verifyAssertion, verifyRegistration } from "./webauthn";

/** A verified assertion, to be committed (`PasskeyStore.used`) in the transaction of what it proves. */
export interface VerifiedUse {
  passkey: PasskeyRow;
  counter: number;
  backedUp: boolean;
  amr: AuthMethod[];
}

export type UseCheck = { ok: true; use: VerifiedUse } | { ok: false; recorded: boolean };

const DEFAULT_NAME_MAX = 64;

/**
 * The WebAuthn ceremonies of one account, in order: the challenge is taken (or, for a sign-in,
 * recorded as spent) before anything is verified, so a response works at most once even when two
 * copies arrive together; the credential is looked up by the id the response names; the signature
 * is verified; and only then is anything stored (the caller commits a `VerifiedUse` in its own
 * transaction, and refuses if the passkey was removed while it was being verified).
 */
export class PasskeyCeremonies {
  constructor(
    readonly store: PasskeyStore,
    private readonly deps: {
      relyingParty: () => RelyingParty;
      refreshSecret: () => string | undefined;
      userId: () => string | null;
      record: (event: NewEvent, now: number) => void;
      atomically: <T>(write: () => T) => T;
    },
  ) {}

  challenge(actor: string, purpose: CeremonyPurpose, deviceName: string, userId: string, now: number): PasskeyChallenge {
    const challenge = this.store.issue(actor, purpose, now);
    const passkeys = this.store.list().map((row) => ({ id: row.id, transports: JSON.parse(row.transports) as string[] }));
    return { ok: true, challenge, userHandle: userHandleOf(userId), deviceName, passkeys };
  }

  async register(
    actor: string,
    registration: { response: RegistrationResponseJSON; name: string | null; place: Place },
    device: DeviceJson,
    now: () => number,
  ): Promise<PasskeyResult | PasskeyRejected> {
    const challenge = this.store.take(actor, "registration", now());
    if (challenge === null) return rejected("the registration challenge is unknown, used or expired: ask for new options");
    const checked = await verifyRegistration(this.deps.relyingParty(), challenge, registration.response);
    if (!checked.ok) return rejected(checked.reason);
    const at = now();
    const name = registration.name ?? `Passkey on ${device.name}`.slice(0, DEFAULT_NAME_MAX);
    return this.deps.atomically((): PasskeyResult | PasskeyRejected => {
      if (this.store.count() >= MAX_PASSKEYS) return { ok: false, code: "passkey_limit_reached", max: MAX_PASSKEYS };
      const row = this.store.add(checked.credential, name, at);
      if (!row) return rejected("this passkey is already registered to the account");
      const details = {
        passkey: { id: row.id, name: row.name },
        backed_up: row.backed_up === 1,
        device: deviceDetails(device),
        place: placeDetails(registration.place),
      };
      this.deps.record({ type: "passkey_added", sessionId: actor, details }, at);
      return { ok: true, passkey: passkeyView(row) };
    });
  }

  /**
   * A discoverable sign-in (WebAuthn §7.2 with an empty allowCredentials): the Worker found this
   * registry by the response's user handle and checked the signed challenge; both are checked
   * again here, where the challenge is spent and the credential lives.
   */
  async signIn(
    challenge: string,
    response: AuthenticationResponseJSON,
    userId: string,
    place: Place,
    now: () => number,
  ): Promise<UseCheck> {
    const expiresAt = await readSignInChallenge(this.deps.refreshSecret(), challenge, now());
    if (expiresAt === null || !this.store.spendSignInChallenge(challenge, expiresAt, now())) return { ok: false, recorded: false };
    // §7.2: the user handle must name the account that owns the credential.
    if (this.deps.userId() !== userId || response.response?.userHandle !== userHandleOf(userId)) return { ok: false, recorded: false };
    return this.#verify(challenge, response, place, now);
  }

  /** A step-up by a signed-in session: the assertion answers the challenge this session was given. */
  async stepUp(actor: string, response: AuthenticationResponseJSON, place: Place, now: () => number): Promise<UseCheck> {
    const challenge = this.store.take(actor, "reauthentication", now());
    if (challenge === null) return { ok: false, recorded: false };
    const userId = this.deps.userId();
    const handle = response.response?.userHandle;
    if (userId === null || (handle !== undefined && handle !== userHandleOf(userId))) return { ok: false, recorded: false };
    return this.#verify(challenge, response, place, now);
  }

  async #verify(challenge: string, response: AuthenticationResponseJSON, place: Place, now: () => number): Promise<UseCheck> {
    const stored = typeof response.id === "string" ? this.store.find(response.id) : undefined;
    if (!stored) return { ok: false, recorded: false };
    const checked = await verifyAssertion(this.deps.relyingParty(), challenge, response, stored);
    if (checked.ok) return { ok: true, use: { passkey: stored, counter: checked.counter, backedUp: checked.backedUp, amr: checked.amr } };
    if (!checked.regressed) return { ok: false, recorded: false };
    // Signed by the stored key, yet its counter went back: two copies of the key are in use (§6.1.1).
    const at = now();
    const details = {
      passkey: { id: stored.id, name: stored.name },
      stored_counter: checked.regressed.stored,
      presented_counter: checked.regressed.presented,
      place: placeDetails(place),
    };
    this.deps.atomically(() => this.deps.record({ type: "passkey_counter_regressed", sessionId: null, details }, at));
    return { ok: false, recorded: true };
  }
}

function rejected(reason: string): PasskeyRejected {
  return { ok: false, code: "passkey_rejected", reason };
}
