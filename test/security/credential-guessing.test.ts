import { afterEach, describe, expect, it, vi } from "vitest";
import { history, login, PLACES } from "../support/devices";
import { call, expectProblem, freshIp, me, ORIGIN, PASSWORD, type SignedIn, signInOn, signUp, USER_AGENTS } from "../support/http";
import { authenticator, reauthenticateWithPassword, registerPasskey, signInOptions } from "../support/passkeys";

const WRONG = "not the password at all";
const NEW_PASSWORD = "a much better passphrase";
const ACCOUNT_FAILURES = 10; // LOGIN_ACCOUNT_FAILURE_LIMIT default
const DEVICE_FAILURES = 5; // LOGIN_DEVICE_FAILURE_LIMIT default

afterEach(() => {
  vi.useRealTimers();
});

const changePassword = (device: SignedIn, currentPassword: string, init: { cf?: Record<string, unknown>; cookie?: string } = {}) =>
  call("/v1/auth/password", {
    method: "POST",
    token: device.accessToken,
    json: { current_password: currentPassword, new_password: NEW_PASSWORD },
    ...init,
  });

/** A body-transport sign-in that presents a device credential (or none). */
const loginWith = (email: string, deviceToken: string | undefined, password = PASSWORD) =>
  call("/v1/auth/login", {
    method: "POST",
    json: { email, password, token_transport: "body", ...(deviceToken === undefined ? {} : { device_token: deviceToken }) },
    headers: { "User-Agent": USER_AGENTS.laptop },
  });

/** Strangers, each from an address of its own, fill the account's failure budget for unknown devices. */
async function lockOutStrangers(email: string) {
  for (let i = 0; i < ACCOUNT_FAILURES; i++)
    await expectProblem(await login(email, { ip: freshIp(), password: WRONG }), 401, "invalid_credentials");
  await expectProblem(await login(email, { ip: freshIp() }), 429, "rate_limited");
}

async function deviceTokenOf(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as { device_token?: string };
  expect(body.device_token).toMatch(/^v1\./);
  return body.device_token!;
}

function cookieOf(response: Response, name: string): { value: string; attributes: string } | null {
  for (const line of response.headers.getSetCookie()) {
    const match = new RegExp(`^__Host-${name}=([^;]*)(.*)$`).exec(line);
    if (match) return { value: decodeURIComponent(match[1]!), attributes: match[2]! };
  }
  return null;
}

describe("password change is not a password oracle", () => {
  it("should answer a session's sixth wrong current password with 429 and Retry-After, the right one too, and change nothing", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    for (let i = 0; i < DEVICE_FAILURES; i++) await expectProblem(await changePassword(laptop!, WRONG), 401, "invalid_credentials");
    const sixth = await changePassword(laptop!, WRONG);
    await expectProblem(sixth, 429, "rate_limited");
    expect(Number(sixth.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Refused before the password is checked: the right one does not get through either.
    await expectProblem(await changePassword(laptop!, PASSWORD), 429, "rate_limited");
    expect((await me(phone!.accessToken)).status).toBe(200);
    expect((await login(laptop!.email)).status).toBe(200);
  });

  it("should limit the account's sessions together: the eleventh wrong guess over several sessions is 429", async () => {
    const [a, b, c] = await signInOn("laptop", "phone", "tablet");
    for (const [device, guesses] of [
      [a!, 4],
      [b!, 4],
      [c!, 2],
    ] as const) {
      for (let i = 0; i < guesses; i++) await expectProblem(await changePassword(device, WRONG), 401, "invalid_credentials");
    }
    await expectProblem(await changePassword(c!, WRONG), 429, "rate_limited");
  });

  it("should record each wrong current password as password_check_failed with the session's device and place, and no secret", async () => {
    const [laptop] = await signInOn("laptop");
    await expectProblem(await changePassword(laptop!, WRONG, { cf: PLACES.toronto }), 401, "invalid_credentials");
    await expectProblem(await changePassword(laptop!, WRONG, { cf: PLACES.toronto }), 401, "invalid_credentials");
    const failures = (await history(laptop!.accessToken)).filter((event) => event.type === "password_check_failed");
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({
      session_id: laptop!.sessionId,
      details: { device: { browser: "Chrome", os: "Windows" }, place: { country: "CA", city: "Toronto" } },
    });
    expect(failures[0]!.details.place.ip).toEqual(expect.any(String));
    expect(JSON.stringify(failures)).not.toContain(WRONG);
    expect(JSON.stringify(failures)).not.toContain(NEW_PASSWORD);
  });
});

describe("device cookies: strangers cannot lock the owner out", () => {
  it("should let a known device sign in with the right password while strangers have locked the account", async () => {
    const owner = await signUp();
    const token = await deviceTokenOf(await loginWith(owner.email, undefined));
    await lockOutStrangers(owner.email);
    expect((await loginWith(owner.email, token)).status).toBe(200);
  });

  it("should give each known device a small budget of its own, which does not touch the account's", async () => {
    const owner = await signUp();
    const token = await deviceTokenOf(await loginWith(owner.email, undefined));
    for (let i = 0; i < DEVICE_FAILURES; i++) await expectProblem(await loginWith(owner.email, token, WRONG), 401, "invalid_credentials");
    const over = await loginWith(owner.email, token);
    await expectProblem(over, 429, "rate_limited");
    expect(Number(over.headers.get("Retry-After"))).toBeGreaterThan(0);
    // The device's failures were its own: another device (without the credential) still gets in.
    expect((await loginWith(owner.email, undefined)).status).toBe(200);
  });

  it("should let a known device sign in with a passkey and step up with the password while strangers have locked the account", async () => {
    const owner = await signUp();
    const auth = authenticator();
    await registerPasskey(owner, auth);
    const token = await deviceTokenOf(await loginWith(owner.email, undefined));
    await lockOutStrangers(owner.email);

    const assertion = await auth.get(await signInOptions());
    const passkey = await call("/v1/auth/passkey", {
      method: "POST",
      json: { response: assertion, token_transport: "body", device_token: token },
    });
    expect(passkey.status).toBe(200);
    const stepUp = await call("/v1/auth/reauthenticate", {
      method: "POST",
      token: owner.accessToken,
      json: { password: PASSWORD, device_token: token },
    });
    expect(stepUp.status).toBe(200);
    // Without the credential, the same step-up draws on the locked account's budget.
    await expectProblem(await reauthenticateWithPassword(owner, PASSWORD), 429, "rate_limited");
  });

  it("should set the credential as an HttpOnly, Secure, SameSite=Strict __Host- cookie for browsers, and honour it", async () => {
    const owner = await signUp();
    const response = await call("/v1/auth/login", {
      method: "POST",
      json: { email: owner.email, password: PASSWORD, token_transport: "cookie" },
      headers: { Origin: ORIGIN },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Record<string, unknown>).device_token).toBeUndefined();
    const cookie = cookieOf(response, "device_token");
    expect(cookie?.value).toMatch(/^v1\./);
    expect(cookie!.attributes).toMatch(/; Max-Age=7776000/);
    for (const attribute of ["; Path=/", "; HttpOnly", "; Secure", "; SameSite=Strict"]) expect(cookie!.attributes).toContain(attribute);
    expect(cookie!.attributes).not.toMatch(/Domain=/i);

    await lockOutStrangers(owner.email);
    const again = await call("/v1/auth/login", {
      method: "POST",
      json: { email: owner.email, password: PASSWORD, token_transport: "cookie" },
      headers: { Origin: ORIGIN },
      cookie: `__Host-device_token=${cookie!.value}`,
    });
    expect(again.status).toBe(200);
  });

  it("should not take another account's credential, a tampered one, or one from before a password change", async () => {
    const owner = await signUp();
    const other = await signUp();
    const otherToken = await deviceTokenOf(await loginWith(other.email, undefined));
    const token = await deviceTokenOf(await loginWith(owner.email, undefined));
    expect((await changePassword(owner, PASSWORD)).status).toBe(204);
    await lockOutStrangers(owner.email);

    const flipped = `${token.slice(0, -2)}${token.at(-2) === "A" ? "B" : "A"}${token.at(-1)}`;
    for (const presented of [otherToken, flipped, token, "v1.garbage", ""])
      await expectProblem(await loginWith(owner.email, presented, NEW_PASSWORD), 429, "rate_limited");
  });

  it("should give a browser that changes the password a fresh cookie, so it stays known", async () => {
    const owner = await signUp();
    const signedIn = await call("/v1/auth/login", {
      method: "POST",
      json: { email: owner.email, password: PASSWORD, token_transport: "cookie" },
      headers: { Origin: ORIGIN },
    });
    const accessToken = ((await signedIn.json()) as { access_token: string }).access_token;
    const old = cookieOf(signedIn, "device_token")!.value;
    const changed = await changePassword({ ...owner, accessToken }, PASSWORD, { cookie: `__Host-device_token=${old}` });
    expect(changed.status).toBe(204);
    const fresh = cookieOf(changed, "device_token");
    expect(fresh?.value).toMatch(/^v1\./);
    expect(fresh!.value).not.toBe(old);

    await lockOutStrangers(owner.email);
    expect((await loginWith(owner.email, fresh!.value, NEW_PASSWORD)).status).toBe(200);
    await expectProblem(await loginWith(owner.email, old, NEW_PASSWORD), 429, "rate_limited");
  });

  it("should not take a credential past DEVICE_TOKEN_TTL_SECONDS", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ["Date"] });
    const owner = await signUp();
    const token = await deviceTokenOf(await loginWith(owner.email, undefined));
    vi.setSystemTime(Date.now() + 90 * 86_400_000);
    await lockOutStrangers(owner.email);
    await expectProblem(await loginWith(owner.email, token), 429, "rate_limited");
  });
});
