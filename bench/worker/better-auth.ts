import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";

/**
 * The peer: Better Auth with its database-backed sessions on the same D1, configured as its docs
 * describe for Workers (the D1 binding passed as `database`, email and password sign-in). The cookie
 * cache stays off, so every `getSession` reads the session (and its user) from D1: its revocable check.
 */
export function peerAuth(env: BenchEnv) {
  return betterAuth({
    database: env.DB,
    secret: env.REFRESH_TOKEN_SECRET,
    baseURL: "http://localhost",
    emailAndPassword: { enabled: true },
    session: { cookieCache: { enabled: false } },
    telemetry: { enabled: false },
    logger: { disabled: true },
  });
}

type PeerAuth = ReturnType<typeof peerAuth>;
let cached: { env: BenchEnv; auth: PeerAuth } | undefined;

/** One instance per isolate, as an app would hold it. */
export function peerAuthFor(env: BenchEnv): PeerAuth {
  if (cached?.env !== env) cached = { env, auth: peerAuth(env) };
  return cached.auth;
}

/** Creates Better Auth's tables (user, session, account, verification) and signs one user up; returns its cookie. */
export async function setUpPeer(env: BenchEnv): Promise<string> {
  const { runMigrations } = await getMigrations(peerAuth(env).options);
  await runMigrations();
  const auth = peerAuthFor(env);
  const { headers } = await auth.api.signUpEmail({
    body: { email: `peer-${crypto.randomUUID()}@example.com`, password: "correct horse battery staple", name: "Peer" },
    returnHeaders: true,
  });
  const setCookie = headers.get("set-cookie") ?? "";
  const match = /(?:^|,\s*)([^=;,\s]*better-auth\.session_token)=([^;]+)/.exec(setCookie);
  if (!match) throw new Error(`Better Auth set no session cookie: ${setCookie}`);
  return `${match[1]}=${match[2]}`;
}
