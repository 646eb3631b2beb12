import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { SignInMethod } from "./wire";

export type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
export type { PasskeyJson, SignInMethod } from "./wire";

/**
 * RFC 8176 authentication method reference values this service issues in `amr`:
 * `pwd` for a password; for a passkey `hwk` or `swk` (the key is bound to one device, or may be
 * synced) plus `pin` (the authenticator verified the user: PIN, pattern or biometric) or `user`
 * (presence only). docs/api.md "Authentication context" gives the mapping from WebAuthn flags.
 */
export type AuthMethod = "pwd" | "hwk" | "swk" | "pin" | "user";
export const AUTH_METHODS: readonly AuthMethod[] = ["pwd", "hwk", "swk", "pin", "user"];

/** When and how the user last proved who they are in a session: the access token's `auth_time` and `amr`. */
export interface AuthContext {
  /** Epoch milliseconds; the token carries it in seconds. */
  authTime: number;
  amr: AuthMethod[];
  signInMethod: SignInMethod;
}

/**
 * What a sign-in presents besides the account. A password was checked by the Worker (against D1)
 * before the call; a passkey assertion is checked by the registry, which holds the credentials.
 * `challenge` is the signed sign-in challenge the Worker has already checked (src/shared/sign-in-challenge.ts).
 */
export type SignInProof = { method: "password" } | { method: "passkey"; challenge: string; response: AuthenticationResponseJSON };

/**
 * What a step-up presents for a session that is already signed in. A password was checked by the
 * Worker, as of `credentialsSeenAt` (when it was last set); a passkey assertion answers the
 * challenge the registry gave this session (`sessionPasskeyChallenge(actor, "reauthentication")`).
 */
export type StepUpProof = { method: "password"; credentialsSeenAt: number } | { method: "passkey"; response: AuthenticationResponseJSON };
