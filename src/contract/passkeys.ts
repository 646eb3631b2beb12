import { iso } from "./session";
import type { PasskeyJson } from "./wire";

/** Passkeys one account may hold: enough for every device a person owns, and a bound on storage. */
export const MAX_PASSKEYS = 20;
/** COSE algorithms offered and accepted: EdDSA, ES256, RS256 (WebAuthn §5.4's recommended set). */
export const PASSKEY_ALGORITHMS = [-8, -7, -257];
/** How long a ceremony's challenge stays answerable (WebAuthn §15.4: minutes, not hours); also the options' `timeout`. */
export const CEREMONY_TIMEOUT_MS = 5 * 60_000;

/** A passkey as the registry answers for it; times are epoch milliseconds. */
export interface PasskeyView {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  backedUp: boolean;
  transports: string[];
}

/** What a ceremony needs from the registry: a fresh single-use challenge and the account's passkeys. */
export interface PasskeyChallenge {
  ok: true;
  challenge: string;
  /** The WebAuthn user handle (base64url): the same for every passkey of the account. */
  userHandle: string;
  /** The calling session's device name, for a new passkey's default name. */
  deviceName: string;
  /** For `excludeCredentials` (registration) or `allowCredentials` (step-up). */
  passkeys: { id: string; transports: string[] }[];
}

export type PasskeyResult = { ok: true; passkey: PasskeyView };
export type PasskeyListResult = { ok: true; passkeys: PasskeyView[] };
/** A registration the registry would not accept; `reason` is for the developer, not a secret. */
export type PasskeyRejected =
  | { ok: false; code: "passkey_rejected"; reason: string }
  | { ok: false; code: "passkey_limit_reached"; max: number };

export function passkeyJson(passkey: PasskeyView): PasskeyJson {
  return {
    id: passkey.id,
    name: passkey.name,
    created_at: iso(passkey.createdAt),
    last_used_at: passkey.lastUsedAt === null ? null : iso(passkey.lastUsedAt),
    backed_up: passkey.backedUp,
    transports: passkey.transports,
  };
}
