import { type DpopRequestInfo, REVOKE_REASON_PATTERN, type RpcFailure } from "../../../consumer/rpc";

const USER_ID = /^usr_[A-Za-z0-9_-]{22}$/;
const SESSION_ID = /^ses_[A-Za-z0-9_-]{22}$/;

/** RPC arguments come from another Worker's code: typed at compile time there, unchecked here. */
export function invalidArgument(checks: Record<string, [value: unknown, pattern: RegExp]>): RpcFailure | null {
  for (const [name, [value, pattern]] of Object.entries(checks)) {
    if (typeof value !== "string" || !pattern.test(value)) return { ok: false, code: "validation_failed", detail: `${name} is not valid` };
  }
  return null;
}

export const userIdArg = (value: unknown): [unknown, RegExp] => [value, USER_ID];
export const sessionIdArg = (value: unknown): [unknown, RegExp] => [value, SESSION_ID];
export const reasonArg = (value: unknown): [unknown, RegExp] => [value, REVOKE_REASON_PATTERN];

/**
 * `verify`'s request, from another Worker's code: bounded, or treated as a request with no proof
 * (a bound token is then refused), since `verify` answers a bad token, never a bad argument.
 */
export function dpopRequestArg(value: unknown): DpopRequestInfo | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { method, url, dpop } = value as Record<string, unknown>;
  if (typeof method !== "string" || !/^[A-Z]{1,16}$/i.test(method) || typeof url !== "string" || url.length > 8192) return undefined;
  return { method, url, dpop: typeof dpop === "string" && dpop.length <= 4096 ? dpop : null };
}
