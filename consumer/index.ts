// The consumer package: what another Worker imports to accept the session service's access tokens.

export type { RequireSessionOptions, SessionCheckMode } from "./options.js";
export { type RequireFreshOptions, requireFresh } from "./require-fresh.js";
export { requireSession, type SessionVariables, type VerifiedSession } from "./require-session.js";
export type {
  AccessTokenClaims,
  DpopRequestInfo,
  ListSessionsResult,
  RevokeAllSessionsResult,
  RevokeSessionResult,
  RpcFailure,
  SessionInfo,
  SessionServiceBinding,
  SessionServiceRpc,
  VerifyResult,
} from "./rpc.js";
export { REVOKE_REASON_PATTERN } from "./rpc.js";
