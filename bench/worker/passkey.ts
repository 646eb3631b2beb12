import { app } from "../../src/worker/app";
import { SoftAuthenticator } from "../../test/support/soft-authenticator";

/**
 * Passkey sign-in for the bench: one software authenticator (test/support's, WebCrypto only)
 * registered for one user at setup, and a pool of assertions made before each batch's timer
 * starts, as a browser would have them ready: the timed operation is the sign-in request alone.
 */
const ORIGIN = "https://auth.example.com";
const authenticator = new SoftAuthenticator(ORIGIN);
/** More than one 30 ms batch can use even on a quiet machine (a sign-in costs milliseconds). */
const POOL_SIZE = 48;
let pool: unknown[] = [];

async function route(env: BenchEnv, ctx: ExecutionContext, path: string, json: unknown, token?: string): Promise<Response> {
  return app.fetch(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "CF-Connecting-IP": "198.51.100.8",
        "User-Agent":
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(json),
    }),
    env,
    ctx,
  );
}

async function ok(response: Response, what: string): Promise<any> {
  if (!response.ok) throw new Error(`${what} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Signs a new account up through the service's route and registers the authenticator's passkey for it. */
export async function registerBenchPasskey(env: BenchEnv, ctx: ExecutionContext, password: string): Promise<void> {
  const email = `passkey-${crypto.randomUUID()}@example.com`;
  const signedUp = await ok(await route(env, ctx, "/v1/auth/signup", { email, password, token_transport: "body" }), "signup");
  const accessToken: string = signedUp.access_token;
  const options = await ok(await route(env, ctx, "/v1/passkeys/registration/options", {}, accessToken), "registration options");
  const response = await authenticator.create(options);
  await ok(await route(env, ctx, "/v1/passkeys", { response }, accessToken), "passkey registration");
}

/** Fresh sign-in options and the authenticator's answers to them, outside the timed loop. */
export async function fillPasskeyPool(env: BenchEnv, ctx: ExecutionContext): Promise<void> {
  pool = [];
  for (let i = 0; i < POOL_SIZE; i++) pool.push(await nextAssertion(env, ctx));
}

async function nextAssertion(env: BenchEnv, ctx: ExecutionContext): Promise<unknown> {
  return authenticator.get(await ok(await route(env, ctx, "/v1/auth/passkey/options", {}), "passkey options"));
}

/** The timed operation: POST /v1/auth/passkey with a ready assertion. */
export async function passkeySignIn(env: BenchEnv, ctx: ExecutionContext): Promise<void> {
  // In the order made: the authenticator's signature counter only goes up.
  const response = pool.shift();
  if (response === undefined) throw new Error("the passkey assertion pool ran dry: raise POOL_SIZE");
  await ok(await route(env, ctx, "/v1/auth/passkey", { response, token_transport: "body" }), "passkey sign-in");
}

/** The ceremony's first request alone: what a passkey sign-in costs before the assertion. */
export async function passkeyOptions(env: BenchEnv, ctx: ExecutionContext): Promise<void> {
  await ok(await route(env, ctx, "/v1/auth/passkey/options", {}), "passkey options");
}
