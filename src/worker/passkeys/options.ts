import { generateAuthenticationOptions, generateRegistrationOptions } from "@simplewebauthn/server";
import { CEREMONY_TIMEOUT_MS, PASSKEY_ALGORITHMS, type PasskeyChallenge } from "../../contract/passkeys";
import type { RelyingParty } from "../../shared/config";
import { fromBase64url } from "../../shared/encoding";

/**
 * The options JSON a browser turns into `navigator.credentials.create()` / `.get()` arguments
 * (WebAuthn Level 3 `PublicKeyCredentialCreationOptionsJSON` / `RequestOptionsJSON`, for
 * `PublicKeyCredential.parse*OptionsFromJSON`). The challenge is the registry's (or, for a
 * sign-in, the signed one), passed as bytes: the library would UTF-8-encode a string first.
 */

const bytesOf = (b64url: string) => fromBase64url(b64url)!;

/**
 * A discoverable credential (resident key) with user verification required: the passkey alone
 * signs the user in, with no email typed, and proves two factors (the device and its unlock).
 * Attestation "none": the service does not certify authenticator models (see docs/api.md).
 */
export function registrationOptions(rp: RelyingParty, challenge: PasskeyChallenge, email: string) {
  return generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpId,
    userName: email,
    userDisplayName: email,
    userID: bytesOf(challenge.userHandle),
    challenge: bytesOf(challenge.challenge),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: "none",
    // The authenticator already holding one of these refuses to make a second for the account.
    excludeCredentials: challenge.passkeys,
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
    supportedAlgorithmIDs: PASSKEY_ALGORITHMS,
    extensions: { credProps: true },
  });
}

/** Sign-in (no credential list: any of the RP's passkeys) or step-up (the account's passkeys only). */
export function authenticationOptions(rp: RelyingParty, challenge: string, allow: { id: string; transports: string[] }[] = []) {
  return generateAuthenticationOptions({
    rpID: rp.rpId,
    challenge: bytesOf(challenge),
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification: "required",
    allowCredentials: allow,
  });
}
