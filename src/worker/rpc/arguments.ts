import { REVOKE_REASON_PATTERN, type RpcFailure } from "../../../consumer/rpc";

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
