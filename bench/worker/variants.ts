import { JwksCache } from "../../consumer/jwks";
import { LivenessCache } from "../../consumer/liveness-cache";
import { DEFAULT_CACHE_TTL_MS } from "../../consumer/options";
import { verifyLocally } from "../../consumer/verify-local";
import { mirrorSessions } from "../../src/db/session-mirror";
import { usersRepository } from "../../src/db/users";
import { configFrom } from "../../src/shared/config";
import { randomId } from "../../src/shared/encoding";
import { genuineRefreshToken } from "../../src/shared/refresh-token";
import { app } from "../../src/worker/app";
import { PBKDF2_ITERATIONS, pbkdf2 } from "../../src/worker/auth/password";
import { describeDevice, describePlace } from "../../src/worker/devices/device";
import { failClosed } from "../../src/worker/http/fail-closed";
import { verifiedCaller } from "../../src/worker/sessions/guard";
import { registryFor } from "../../src/worker/sessions/registry-client";
import { signAccessToken, verifyAccessTokenSignature } from "../../src/worker/tokens/access";
import { checkAccessToken } from "../../src/worker/tokens/check";
import { checkDpopProof } from "../../src/worker/tokens/dpop";
import { loadKeySet } from "../../src/worker/tokens/keys";
import { peerAuthFor } from "./better-auth";
import { DPOP_REFRESH_URL, DPOP_RESOURCE_URL, fillPool, nextProof } from "./dpop";

/** What /setup made and the driver hands back with every round. */
export interface BenchState {
  /** Access tokens of users holding 1, 10 and 100 live sessions (the token is one of them). */
  tokens: { s1: string; s10: string; s100: string };
  /** The access token of a DPoP-bound session (one live session), bound to the isolate's key (dpop.ts). */
  boundToken: string;
  peerCookie: string;
  signIn: { email: string; password: string };
  /** A user whose registry takes the signIn-only measurements. */
  createUserId: string;
  userAgent: string;
}

export type Operation = (env: BenchEnv, state: BenchState, request: Request, ctx: ExecutionContext) => Promise<unknown>;

// The consumer middleware's own building blocks, held per isolate as `requireSession` holds them.
const liveness = new LivenessCache();
const jwks = new JwksCache();
/** The refresh chain advances with every rotation, so its current token lives in the isolate. */
export const refreshChain = { token: "" };
/** The same for a DPoP-bound session. */
export const boundRefreshChain = { token: "" };
/** Fixed: random values are not allowed at global scope, and the salt does not change the cost. */
const PBKDF2_SALT = new Uint8Array(16).fill(7);

const bearer = (token: string) => `Bearer ${token}`;

/** Signature and claims exactly as the service checks them (the first half of checkAccessToken). */
async function signatureOnly(env: BenchEnv, token: string) {
  const result = await verifyAccessTokenSignature(await loadKeySet(env.JWT_SIGNING_KEYS), configFrom(env), token, Date.now());
  if (!result.ok) throw new Error(`token refused: ${result.reason}`);
  return result.claims;
}

/** Run before a batch's timer starts: the client's proofs for the DPoP-bound variants. */
export const prepare: Record<string, (state: BenchState) => Promise<void>> = {
  dpop_strict: (state) => fillPool("dpop_strict", "GET", DPOP_RESOURCE_URL, state.boundToken),
  dpop_refresh: () => fillPool("dpop_refresh", "POST", DPOP_REFRESH_URL),
};

/** The strict check: checkAccessToken is what the RPC `verify` and introspection run. */
async function strict(env: BenchEnv, token: string) {
  const status = await checkAccessToken(env, token);
  if (!status.ok) throw new Error(`strict check refused: ${status.code}`);
}

/** The consumer's local verification: its JWKS cache fed from the service's key set (fetched once). */
function consumerVerify(env: BenchEnv, token: string) {
  const config = configFrom(env);
  const fetchJwks = async () => Response.json((await loadKeySet(env.JWT_SIGNING_KEYS)).jwks);
  return verifyLocally(token, jwks, fetchJwks, {
    issuer: config.issuer,
    audience: config.audience,
    maxTokenLifetimeSeconds: 3600,
    nowMs: Date.now(),
  });
}

async function list(env: BenchEnv, token: string) {
  const caller = await verifiedCaller(env, bearer(token));
  const result = await failClosed("registry", () => registryFor(env, caller.userId).sessionList(caller.sessionId));
  if (!result.ok) throw new Error("session not live");
  return result.sessions.length;
}

export const operations: Record<string, Operation> = {
  /** (1) Signature and claims only: no revocation at all. */
  stateless: (env, state) => signatureOnly(env, state.tokens.s1),
  /** (1b) The consumer middleware's stateless mode: its local verification against the JWKS. */
  consumer_stateless: async (env, state) => {
    if (!(await consumerVerify(env, state.tokens.s1)).ok) throw new Error("token refused");
  },
  /** (2) The floor: the same verification plus one Durable Object round trip that does nothing. */
  floor: async (env, state) => {
    const claims = await signatureOnly(env, state.tokens.s1);
    if (!(await env.NOOP.get(env.NOOP.idFromName(claims.sub)).ping())) throw new Error("unreachable");
  },
  /** (3) This service's strict check: verification plus the user's registry `sessionCheck(sid)`. */
  strict: (env, state) => strict(env, state.tokens.s1),
  /**
   * (3d) The strict check of a DPoP-bound token, as RPC `verify` runs it for a consumer's request:
   * the proof's stateless checks here, then its key and jti with liveness in the one registry call.
   */
  dpop_strict: async (env, state) => {
    const request = { method: "GET", url: DPOP_RESOURCE_URL, dpop: nextProof("dpop_strict") };
    const status = await checkAccessToken(env, state.boundToken, { request });
    if (!status.ok) throw new Error(`bound strict check refused: ${status.code}`);
  },
  /** (3b) The consumer's strict mode: `verify` over a service binding to the SessionService entrypoint. */
  strict_rpc: async (env, state) => {
    const result = await env.SESSION_SERVICE.verify(state.tokens.s1);
    if (!result.ok) throw new Error(`verify refused: ${result.code}`);
  },
  /**
   * (4) The consumer's cached mode, its code path without the Hono wrapper: local verification, then
   * its LivenessCache (10,000 entries, 5 s); a miss asks the service over the binding, as it does.
   */
  cached: async (env, state) => {
    const local = await consumerVerify(env, state.tokens.s1);
    if (!local.ok) throw new Error("token refused");
    const nowMs = Date.now();
    if (liveness.isLive(local.claims.sid, nowMs)) return;
    const result = await env.SESSION_SERVICE.verify(state.tokens.s1);
    if (!result.ok) throw new Error(`verify refused: ${result.code}`);
    liveness.remember(local.claims.sid, Math.min(nowMs + DEFAULT_CACHE_TTL_MS, local.claims.exp * 1000));
  },
  /** (5) The per-request D1 design: verification plus one indexed read of the sessions table. */
  d1: async (env, state) => {
    const claims = await signatureOnly(env, state.tokens.s1);
    const row = await env.DB.prepare("SELECT revoked_at, expires_at FROM sessions WHERE id = ?")
      .bind(claims.sid)
      .first<{ revoked_at: number | null; expires_at: number }>();
    if (!row || row.revoked_at !== null || row.expires_at <= Date.now()) throw new Error("session not live");
  },
  /** (6) The peer: Better Auth's database-backed getSession on D1, cookie cache off. */
  better_auth: async (env, state) => {
    const session = await peerAuthFor(env).api.getSession({ headers: new Headers({ Cookie: state.peerCookie }) });
    if (!session) throw new Error("Better Auth returned no session");
  },
  /** (7) A refresh as the route does it: tag check, the registry's rotation, a new access token. */
  refresh: async (env, _state, request) => {
    const token = await genuineRefreshToken(env, refreshChain.token);
    if (!token) throw new Error("refresh token not genuine");
    const keys = await loadKeySet(env.JWT_SIGNING_KEYS);
    const result = await failClosed("registry", () => registryFor(env, token.userId).refresh(token.raw, describePlace(request)));
    if (!result.ok) throw new Error("refresh refused");
    await signAccessToken(keys, configFrom(env), result);
    refreshChain.token = result.refreshToken;
  },
  /** (7d) A DPoP-bound refresh, as refreshSession does it: tag, proof, the registry's rotation and key check, sign. */
  dpop_refresh: async (env, _state, request) => {
    const token = await genuineRefreshToken(env, boundRefreshChain.token);
    if (!token) throw new Error("refresh token not genuine");
    const keys = await loadKeySet(env.JWT_SIGNING_KEYS);
    const verdict = await checkDpopProof(env, nextProof("dpop_refresh"), { method: "POST", url: DPOP_REFRESH_URL });
    if (!verdict.ok) throw new Error(`refresh proof refused: ${verdict.reason}`);
    const proof = { endpoint: "auth_refresh" as const, proof: verdict.proof };
    const result = await failClosed("registry", () => registryFor(env, token.userId).refresh(token.raw, describePlace(request), proof));
    if (!result.ok) throw new Error(`bound refresh refused: ${result.code}`);
    await signAccessToken(keys, configFrom(env), result);
    boundRefreshChain.token = result.refreshToken;
  },
  /**
   * (8) Sign-in: the production login route itself (the app's fetch, in this isolate, no network):
   * rate-limit admission, D1 user lookup, PBKDF2, the registry's signIn, signing.
   */
  signin: async (env, state, _request, ctx) => {
    const response = await app.fetch(
      new Request("https://auth.example.com/v1/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": state.userAgent, "CF-Connecting-IP": "198.51.100.7" },
        body: JSON.stringify({ email: state.signIn.email, password: state.signIn.password, token_transport: "body" }),
      }),
      env,
      ctx,
    );
    if (response.status !== 200) throw new Error(`login answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  },
  /** Sign-in breakdown: the D1 user lookup alone. */
  users_by_email: async (env, state) => {
    if (!(await usersRepository(env.DB).findByEmail(state.signIn.email))) throw new Error("user not found");
  },
  /** Sign-in breakdown: the registry's signIn alone (SQLite insert, then the D1 mirror write it awaits). */
  create_session: async (env, state, request) => {
    const userId = state.createUserId;
    const device = describeDevice(state.userAgent, null);
    const created = await failClosed("registry", () =>
      registryFor(env, userId).signIn({ userId, sessionId: randomId("ses"), device, place: describePlace(request), credentialsSeenAt: 0 }),
    );
    if (!created.ok) throw new Error(created.code);
  },
  /** Sign-in breakdown: the D1 write signIn awaits before it answers (one mirror row). */
  mirror_write: async (env, state) => {
    const now = Date.now();
    await mirrorSessions(env.DB, [
      {
        id: randomId("ses"),
        userId: state.createUserId,
        deviceName: "Chrome on Windows",
        createdAt: now,
        lastActiveAt: now,
        expiresAt: now + 86_400_000,
      },
    ]);
  },
  /** The same PBKDF2 the sign-in pays, alone. */
  pbkdf2: (_env, state) => pbkdf2(state.signIn.password, PBKDF2_SALT, PBKDF2_ITERATIONS),
  strict_s10: (env, state) => strict(env, state.tokens.s10),
  strict_s100: (env, state) => strict(env, state.tokens.s100),
  list_s1: (env, state) => list(env, state.tokens.s1),
  list_s10: (env, state) => list(env, state.tokens.s10),
  list_s100: (env, state) => list(env, state.tokens.s100),
};
