import { usersRepository } from "../../src/db/users";
import { configFrom } from "../../src/shared/config";
import { randomId } from "../../src/shared/encoding";
import { hashPassword } from "../../src/worker/auth/password";
import { describeDevice, describePlace } from "../../src/worker/devices/device";
import { signAccessToken } from "../../src/worker/tokens/access";
import { loadKeySet } from "../../src/worker/tokens/keys";
import { setUpPeer } from "./better-auth";
import { boundClient, signInProof } from "./dpop";
import { type BenchState, boundRefreshChain, refreshChain } from "./variants";

export const USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const PASSWORD = "correct horse battery staple";

/** Applies the project's D1 migrations (statements read from migrations/ by the driver). */
export async function migrate(env: BenchEnv, statements: string[]): Promise<void> {
  for (const statement of statements) await env.DB.prepare(statement).run();
}

/** A user with `count` live sessions, created through the registry exactly as sign-in does (bound to a DPoP key with `bound`). */
export async function userWithSessions(env: BenchEnv, count: number, request: Request, namespace = env.SESSION_REGISTRY, bound = false) {
  const userId = randomId("usr");
  const device = describeDevice(USER_AGENT, null);
  const place = describePlace(request);
  const sessions: { sessionId: string; refreshToken: string }[] = [];
  for (let i = 0; i < count; i++) {
    const sessionId = randomId("ses");
    const dpop = bound ? await signInProof() : undefined;
    const created = await namespace
      .get(namespace.idFromName(userId))
      .signIn({ userId, sessionId, device, place, credentialsSeenAt: 0, dpop });
    if (!created.ok) throw new Error(`${created.code}: raise MAX_SESSIONS in bench/wrangler.jsonc`);
    sessions.push({ sessionId, refreshToken: created.refreshToken });
  }
  return { userId, sessions };
}

export async function setUp(env: BenchEnv, request: Request, migrations: string[]): Promise<BenchState> {
  await migrate(env, migrations);
  const keys = await loadKeySet(env.JWT_SIGNING_KEYS);
  const config = configFrom(env);
  const tokenFor = async (count: number) => {
    const { userId, sessions } = await userWithSessions(env, count, request);
    return signAccessToken(keys, config, {
      userId,
      sessionId: sessions[0]!.sessionId,
      auth: { authTime: Date.now(), amr: ["pwd"], signInMethod: "password" },
    });
  };
  const tokens = { s1: await tokenFor(1), s10: await tokenFor(10), s100: await tokenFor(100) };

  const refreshUser = await userWithSessions(env, 1, request);
  refreshChain.token = refreshUser.sessions[0]!.refreshToken;
  const boundUser = await userWithSessions(env, 1, request, env.SESSION_REGISTRY, true);
  const { jkt } = await boundClient();
  const boundToken = await signAccessToken(keys, config, {
    userId: boundUser.userId,
    sessionId: boundUser.sessions[0]!.sessionId,
    jkt,
    auth: { authTime: Date.now(), amr: ["pwd"], signInMethod: "password" },
  });
  const boundRefreshUser = await userWithSessions(env, 1, request, env.SESSION_REGISTRY, true);
  boundRefreshChain.token = boundRefreshUser.sessions[0]!.refreshToken;

  const email = `signin-${crypto.randomUUID()}@example.com`;
  const inserted = await usersRepository(env.DB).insert({
    id: randomId("usr"),
    email,
    passwordHash: await hashPassword(PASSWORD),
    createdAt: Date.now(),
    passwordChangedAt: null,
    disabledAt: null,
  });
  if (!inserted) throw new Error("sign-in user not inserted");

  const peerCookie = await setUpPeer(env);
  return { tokens, boundToken, peerCookie, signIn: { email, password: PASSWORD }, createUserId: randomId("usr"), userAgent: USER_AGENT };
}
