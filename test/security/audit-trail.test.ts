import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type EventJson, history, login, PLACES } from "../support/devices";
import { call, expectProblem, signInOn, uniqueEmail } from "../support/http";
import { captureLogs } from "../support/logs";

const WRONG = "not the password at all";
const admin = (path: string, method = "POST") => call(`/v1/admin${path}`, { method, token: env.ADMIN_TOKEN! });

afterEach(() => {
  vi.restoreAllMocks();
});

/** The JSON log lines among the captured ones. */
const entries = (lines: { text: string }[]): Record<string, unknown>[] =>
  lines.flatMap((line) => {
    try {
      return [JSON.parse(line.text)];
    } catch {
      return [];
    }
  });

/** The history once an event of `type` is in it: a failed sign-in is recorded after its answer (waitUntil). */
async function historyWith(accessToken: string, type: string, count = 1): Promise<EventJson[]> {
  let events: EventJson[] = [];
  await vi.waitFor(
    async () => {
      events = await history(accessToken);
      expect(events.filter((event) => event.type === type)).toHaveLength(count);
    },
    { timeout: 10_000, interval: 100 },
  );
  return events;
}

describe("failed sign-ins leave a trace in the account's history", () => {
  it("should record a wrong password for an existing account as sign_in_failed, with device and place, never the password or the typed email", async () => {
    const [laptop] = await signInOn("laptop");
    // The email as someone typed it: another case and spaces around it; the account is found all the same.
    const typed = `  ${laptop!.email.toUpperCase()} `;
    await expectProblem(await login(typed, { device: "phone", password: WRONG, cf: PLACES.lagos }), 401, "invalid_credentials");

    const events = await historyWith(laptop!.accessToken, "sign_in_failed");
    const failed = events.find((event) => event.type === "sign_in_failed")!;
    expect(failed).toMatchObject({
      session_id: null,
      details: { device: { os: "iOS", type: "mobile" }, place: { country: "NG", city: "Lagos" }, known_device: false },
    });
    expect(failed.details.place.ip).toEqual(expect.any(String));
    const text = JSON.stringify(failed);
    expect(text).not.toContain(WRONG);
    expect(text).not.toContain(laptop!.email.toUpperCase());
    expect(text).not.toContain(laptop!.email);
  });

  it("should say a failure came from one of the account's own devices when it carried the device credential", async () => {
    const [laptop] = await signInOn("laptop");
    const signedIn = await call("/v1/auth/login", {
      method: "POST",
      json: { email: laptop!.email, password: "correct horse battery staple", token_transport: "body" },
    });
    const { device_token } = (await signedIn.json()) as { device_token: string };
    const failed = await call("/v1/auth/login", {
      method: "POST",
      json: { email: laptop!.email, password: WRONG, token_transport: "body", device_token },
    });
    await expectProblem(failed, 401, "invalid_credentials");
    const events = await historyWith(laptop!.accessToken, "sign_in_failed");
    expect(events.find((event) => event.type === "sign_in_failed")!.details.known_device).toBe(true);
  });

  it("should address no user's registry (so write no history) for an unknown email", async () => {
    const addressed = vi.spyOn(env.SESSION_REGISTRY, "idFromName");
    await expectProblem(await login(uniqueEmail("nobody"), { password: WRONG }), 401, "invalid_credentials");
    expect(addressed).not.toHaveBeenCalled();
  });
});

describe("admin actions are recorded in the affected user's history and name the user in the logs", () => {
  it("should record disable and enable as account_disabled and account_enabled, by admin", async () => {
    const [laptop] = await signInOn("laptop", "phone");
    const logs = captureLogs();
    expect((await admin(`/users/${laptop!.userId}/disable`)).status).toBe(200);
    expect((await admin(`/users/${laptop!.userId}/enable`)).status).toBe(200);
    const lines = entries(logs);
    vi.restoreAllMocks();

    const response = await login(laptop!.email);
    const { access_token } = (await response.json()) as { access_token: string };
    const events = await history(access_token);
    const disabled = events.find((event) => event.type === "account_disabled");
    const enabled = events.find((event) => event.type === "account_enabled");
    expect(disabled).toMatchObject({ session_id: null, details: { actor: "admin", sessions_ended: 2 } });
    expect(enabled).toMatchObject({ session_id: null, details: { actor: "admin" } });
    expect(events.indexOf(enabled!)).toBeLessThan(events.indexOf(disabled!));

    for (const msg of ["account disabled by an admin", "account enabled by an admin"]) {
      const line = lines.find((entry) => entry.msg === msg);
      expect(line).toMatchObject({ level: "info", actor: "admin", target_user_id: laptop!.userId });
      expect(JSON.stringify(line)).not.toContain(laptop!.email);
    }
  });

  it("should record a reconcile as account_reconciled by admin, and log the target user", async () => {
    const [laptop] = await signInOn("laptop", "phone");
    const logs = captureLogs();
    const response = await admin(`/users/${laptop!.userId}/reconcile`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ mirrored: true, live_sessions: 2 });
    const lines = entries(logs);
    vi.restoreAllMocks();

    const reconciled = (await history(laptop!.accessToken)).filter((event) => event.type === "account_reconciled");
    expect(reconciled).toEqual([expect.objectContaining({ session_id: null, details: { actor: "admin", live_sessions: 2 } })]);
    const line = lines.find((entry) => entry.msg === "mirror reconciled by an admin");
    expect(line).toMatchObject({ level: "info", actor: "admin", target_user_id: laptop!.userId, live_sessions: 2 });
    expect(JSON.stringify(line)).not.toContain(laptop!.email);
  });

  it("should record an admin revoke of one session and of all as session_revoked by admin, and log the target user", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    const logs = captureLogs();
    expect((await admin(`/users/${laptop!.userId}/sessions/${phone!.sessionId}`, "DELETE")).status).toBe(204);
    expect((await admin(`/users/${laptop!.userId}/sessions/revoke-all`)).status).toBe(200);
    const lines = entries(logs);
    vi.restoreAllMocks();

    const response = await login(laptop!.email);
    const events = await history(((await response.json()) as { access_token: string }).access_token);
    const revoked = events.filter((event) => event.type === "session_revoked");
    for (const device of [laptop!, phone!, tablet!])
      expect(revoked.find((event) => event.session_id === device.sessionId)).toMatchObject({
        details: { reason: "admin", revoked_by: "admin", by_session_id: null },
      });
    expect(lines.find((entry) => entry.msg === "session revoked by an admin")).toMatchObject({
      target_user_id: laptop!.userId,
      session_id: phone!.sessionId,
    });
    expect(lines.find((entry) => entry.msg === "all sessions revoked by an admin")).toMatchObject({
      target_user_id: laptop!.userId,
      revoked: 2,
    });
  });
});
