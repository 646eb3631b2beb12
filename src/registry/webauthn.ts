import { verifyAuthenticationResponse, verifyRegistrationResponse } from "@simplewebauthn/server";
import type { AuthenticationResponseJSON, AuthMethod, RegistrationResponseJSON } from "../contract/auth";
import { PASSKEY_ALGORITHMS } from "../contract/passkeys";
import { acceptsOrigin, type RelyingParty } from "../shared/config";
import { fromBase64url } from "../shared/encoding";
import type { PasskeyRow } from "./schema";

/**
 * The WebAuthn Level 3 ceremonies (§7.1 registration, §7.2 authentication) as the registry runs
 * them, with @simplewebauthn/server (MIT) doing the parsing and cryptography. What the library
 * leaves to its caller is done here: the origin is checked against this relying party's list
 * (exactly, or any localhost port in development); the credential is looked up by the caller by
 * `response.id` (the library never compares it); and the signature counter is compared only after
 * the signature verified (the library checks it first, so a forged assertion with a low counter
 * would otherwise read as a cloned key).
 */

/** §7.1: a credential id longer than 1023 bytes is refused. */
const MAX_CREDENTIAL_ID_BYTES = 1023;

export interface NewCredential {
  id: string;
  publicKey: Uint8Array<ArrayBuffer>;
  counter: number;
  transports: string[];
  backupEligible: boolean;
  backedUp: boolean;
  aaguid: string;
}

export type RegistrationCheck = { ok: true; credential: NewCredential } | { ok: false; reason: string };

export type AssertionCheck =
  | { ok: true; counter: number; backedUp: boolean; amr: AuthMethod[] }
  | { ok: false; regressed?: { stored: number; presented: number } };

/**
 * RFC 8176 values for a verified assertion. `swk` when the authenticator says the key may be synced
 * (BE, backup eligible: a synced passkey's private key leaves the device), `hwk` when it is bound
 * to one authenticator (BE clear). Then `pin` when the authenticator verified the user (UV: a PIN,
 * pattern or biometric; WebAuthn does not say which), `user` for presence alone (UP). BS (backed up
 * now) does not change the key's kind, and the authenticator attachment is the browser's unsigned
 * hint, so neither is used. Without attestation (we ask for "none") these flags are the
 * authenticator's word, not a certified fact.
 */
export function amrOf(flags: { backupEligible: boolean; userVerified: boolean }): AuthMethod[] {
  return [flags.backupEligible ? "swk" : "hwk", flags.userVerified ? "pin" : "user"];
}

/** The origin a response claims (clientDataJSON.origin), or null when it cannot be read. */
function claimedOrigin(clientDataJSON: unknown): string | null {
  const bytes = typeof clientDataJSON === "string" ? fromBase64url(clientDataJSON) : null;
  if (!bytes) return null;
  try {
    const origin = (JSON.parse(new TextDecoder().decode(bytes)) as { origin?: unknown }).origin;
    return typeof origin === "string" ? origin : null;
  } catch {
    return null;
  }
}

/** A sentence for the developer: which check failed, never the values it saw. */
function reasonFor(error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  const known: [RegExp, string][] = [
    [/origin/i, "the origin is not one of this relying party's"],
    [/RP ID/i, "the authenticator signed for another RP ID"],
    [/User verification/i, "the authenticator did not verify the user (UV flag missing)"],
    [/User presence|not present/i, "the authenticator did not test user presence (UP flag missing)"],
    [/challenge/i, "the response answers another challenge"],
    [/type/i, "the response is not a registration"],
    [/algorithm/i, "the key's algorithm is not supported"],
  ];
  return known.find(([pattern]) => pattern.test(message))?.[1] ?? "the response could not be parsed or verified";
}

export async function verifyRegistration(
  rp: RelyingParty,
  challenge: string,
  response: RegistrationResponseJSON,
): Promise<RegistrationCheck> {
  const origin = claimedOrigin(response.response?.clientDataJSON);
  if (origin === null || !acceptsOrigin(rp, origin)) return { ok: false, reason: "the origin is not one of this relying party's" };
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: origin,
      expectedRPID: rp.rpId,
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: PASSKEY_ALGORITHMS,
    });
    if (!result.verified) return { ok: false, reason: "the attestation did not verify" };
    const info = result.registrationInfo;
    const id = info.credential.id;
    if ((fromBase64url(id)?.length ?? Infinity) > MAX_CREDENTIAL_ID_BYTES) return { ok: false, reason: "the credential id is too long" };
    return {
      ok: true,
      credential: {
        id,
        publicKey: new Uint8Array(info.credential.publicKey),
        counter: info.credential.counter,
        transports: (response.response.transports ?? []).filter((t) => typeof t === "string").slice(0, 8),
        backupEligible: info.credentialDeviceType === "multiDevice",
        backedUp: info.credentialBackedUp,
        aaguid: info.aaguid,
      },
    };
  } catch (error) {
    return { ok: false, reason: reasonFor(error) };
  }
}

/**
 * §7.2 for a stored credential the caller found by `response.id`. A refusal says nothing of why
 * (the caller answers `invalid_credentials` either way), except a counter that went backwards on
 * a correctly signed assertion, which the caller records as a possible clone.
 */
export async function verifyAssertion(
  rp: RelyingParty,
  challenge: string,
  response: AuthenticationResponseJSON,
  stored: PasskeyRow,
): Promise<AssertionCheck> {
  const origin = claimedOrigin(response.response?.clientDataJSON);
  if (origin === null || !acceptsOrigin(rp, origin)) return { ok: false };
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: origin,
      expectedRPID: rp.rpId,
      // Counter 0: the library's own counter check runs before the signature check (see above).
      credential: { id: stored.id, publicKey: new Uint8Array(stored.public_key), counter: 0, transports: JSON.parse(stored.transports) },
      requireUserVerification: true,
    });
  } catch {
    return { ok: false };
  }
  if (!result.verified) return { ok: false };
  const info = result.authenticationInfo;
  const backupEligible = info.credentialDeviceType === "multiDevice";
  // §7.2 (Level 3): backup eligibility is fixed when the credential is made; a change means another key or a lying authenticator.
  if (backupEligible !== (stored.backup_eligible === 1)) return { ok: false };
  // §6.1.1: authenticators that count never repeat or go back; 0 and 0 means one that does not count.
  const presented = info.newCounter;
  if ((presented > 0 || stored.counter > 0) && presented <= stored.counter) {
    return { ok: false, regressed: { stored: stored.counter, presented } };
  }
  return {
    ok: true,
    counter: presented,
    backedUp: info.credentialBackedUp,
    amr: amrOf({ backupEligible, userVerified: info.userVerified }),
  };
}
