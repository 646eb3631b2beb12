// The consumer package: what another Worker imports to accept the session service's access tokens.

export type { RequireSessionOptions, SessionCheckMode } from "./options";
export { type RequireFreshOptions, requireFresh } from "./require-fresh";
export { requireSession, type SessionVariables, type VerifiedSession } from "./require-session";
export type {
  AccessTokenClaims,
  ListSessionsResult,
  RevokeAllSessionsResult,
  RevokeSessionResult,
  RpcFailure,
  SessionInfo,
  SessionServiceBinding,
  SessionServiceRpc,
  VerifyResult,
} from "./rpc";
export { REVOKE_REASON_PATTERN } from "./rpc";
