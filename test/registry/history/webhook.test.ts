import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionRegistry } from "../../../src/registry/session-registry";
import { login, signedInFrom } from "../../support/devices";
import { call, expectProblem, me, signUp } from "../../support/http";
import { configure, registry } from "../../support/registry";

const HOOK_URL = "https://hooks.example.test/security";
const HOOK_SECRET = "whsec_test_0123456789abcdefghijklmnopqrstuv";
const realFetch = globalThis.fetch;

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/**
 * The receiving end: a stand-in for the customer's server, on the outbound fetch of this isolate
 * (the registry runs in it too). It checks signatures the way the docs tell receivers to, written
 * here from the spec rather than with the service's own helper.
 */
function receiver(answer: () => Response | Promise<Response>) {
  const received: { request: Request; body: string; valid: boolean }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(HOOK_URL)) return realFetch(input, init);
    const body = await request.text();
    received.push({ request, body, valid: await verify(request.headers.get("Webhook-Signature") ?? "", body) });
    return answer();
  });
  return received;
}

async function verify(header: string, body: string): Promise<boolean> {
  const parts = Object.fromEntries(header.split(",").map((part) => part.split("=") as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300 || !/^[0-9a-f]{64}$/.test(parts.v1 ?? "")) return false;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(HOOK_SECRET), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  const mac = new Uint8Array(parts.v1!.match(/../g)!.map((hex) => parseInt(hex, 16)));
  return crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode(`${t}.${body}`)); // constant-time
}

const pendingWebhooks = (userId: string) =>
  runInDurableObject(registry(userId), (instance: SessionRegistry) =>
    (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql
      .exec<{ type: string; webhook_state: string; webhook_attempts: number; webhook_next_at: number }>(
        "SELECT type, webhook_state, webhook_attempts, webhook_next_at FROM events WHERE webhook_state IS NOT NULL",
      )
      .toArray(),
  );

describe("the security webhook", () => {
  it("should POST each event with a valid Webhook-Signature and Webhook-Id, after the sign-in has answered", async () => {
    const account = await signUp();
    await configure(account.userId, { SECURITY_WEBHOOK_URL: HOOK_URL, SECURITY_WEBHOOK_SECRET: HOOK_SECRET });
    const received = receiver(() => new Response(null, { status: 204 }));
    const phone = await signedInFrom(await login(account.email, { device: "phone" }), account.email);

    await runDurableObjectAlarm(registry(account.userId));
    await vi.waitFor(() => expect(received.map((r) => JSON.parse(r.body).type).sort()).toEqual(["new_device", "signed_in"]));
    for (const { request, body, valid } of received) {
      expect(valid).toBe(true);
      const event = JSON.parse(body);
      expect(request.method).toBe("POST");
      expect(request.headers.get("Content-Type")).toBe("application/json");
      expect(request.headers.get("Webhook-Id")).toBe(event.id);
      expect(event).toMatchObject({ user_id: account.userId, session_id: phone.sessionId, created_at: expect.any(String) });
      expect(body).not.toContain(phone.refreshToken);
      expect(body).not.toContain(phone.accessToken);
    }
    expect(await pendingWebhooks(account.userId)).toEqual([]);
  });

  it("should give a risk finding's event a signed, short-lived answer link that works once, and no other event one", async () => {
    const account = await signUp();
    await configure(account.userId, { SECURITY_WEBHOOK_URL: HOOK_URL, SECURITY_WEBHOOK_SECRET: HOOK_SECRET });
    const received = receiver(() => new Response(null, { status: 204 }));
    const phone = await signedInFrom(await login(account.email, { device: "phone" }), account.email);
    await runDurableObjectAlarm(registry(account.userId));
    await vi.waitFor(() => expect(received).toHaveLength(2));
    const events = received.map((r) => JSON.parse(r.body));
    expect(events.find((event) => event.type === "signed_in").notice).toBeUndefined();
    const finding = events.find((event) => event.type === "new_device");
    expect(finding.notice).toEqual({ id: finding.id, answer_url: expect.any(String), expires_at: expect.any(String) });
    const url = new URL(finding.notice.answer_url);
    expect(`${url.origin}${url.pathname}`).toBe(new URL("/was-this-you", env.JWT_ISSUER).href);
    const hours = (Date.parse(finding.notice.expires_at) - Date.parse(finding.created_at)) / 3_600_000;
    expect(hours).toBe(24);
    // The link's token answers the notice once: "No, sign it out" ends the phone's session.
    const token = url.searchParams.get("token")!;
    const answer = () => call("/v1/notices/answer", { method: "POST", json: { token, answer: "reported" } });
    expect((await answer()).status).toBe(200);
    expect((await me(phone.accessToken)).status).toBe(401);
    await expectProblem(await answer(), 409, "notice_answered");
    // The answer's own events reach the receiver too (and, the test ending after them, never the network).
    await runDurableObjectAlarm(registry(account.userId));
    await vi.waitFor(async () => expect(await pendingWebhooks(account.userId)).toEqual([]));
    expect(received.map((r) => JSON.parse(r.body).type).sort()).toEqual([
      "new_device",
      "session_revoked",
      "signed_in",
      "takeover_reported",
    ]);
  });

  it("should not fail or hold up a sign-in when the webhook fails, and retry it later with backoff", async () => {
    const account = await signUp();
    await configure(account.userId, { SECURITY_WEBHOOK_URL: HOOK_URL, SECURITY_WEBHOOK_SECRET: HOOK_SECRET });
    let healthy = false;
    const received = receiver(() => {
      if (!healthy) throw new Error("connection refused");
      return new Response("ok");
    });

    const response = await login(account.email);
    expect(response.status).toBe(200);
    await runDurableObjectAlarm(registry(account.userId));
    await vi.waitFor(async () => expect((await pendingWebhooks(account.userId))[0]?.webhook_attempts).toBe(1));
    const [pending] = await pendingWebhooks(account.userId);
    expect(pending).toMatchObject({ type: "signed_in", webhook_state: "pending" });
    expect(pending!.webhook_next_at).toBeGreaterThan(Date.now() + 20_000);

    healthy = true;
    vi.useFakeTimers({ now: pending!.webhook_next_at + 1, toFake: ["Date"] });
    await runDurableObjectAlarm(registry(account.userId));
    await vi.waitFor(async () => expect(await pendingWebhooks(account.userId)).toEqual([]));
    expect(received.filter((r) => r.valid)).toHaveLength(2);
  });

  it("should give an event up after a bounded number of attempts", async () => {
    const account = await signUp();
    await configure(account.userId, { SECURITY_WEBHOOK_URL: HOOK_URL, SECURITY_WEBHOOK_SECRET: HOOK_SECRET });
    const received = receiver(() => new Response("down", { status: 503 }));
    expect((await login(account.email)).status).toBe(200);
    for (let attempt = 1; attempt <= 8; attempt++) {
      const [pending] = await pendingWebhooks(account.userId);
      vi.useFakeTimers({ now: Math.max(Date.now(), pending!.webhook_next_at) + 1, toFake: ["Date"] });
      await runDurableObjectAlarm(registry(account.userId));
      await vi.waitFor(() => expect(received).toHaveLength(attempt));
    }
    await vi.waitFor(async () => expect(await pendingWebhooks(account.userId)).toEqual([]));
    vi.setSystemTime(Date.now() + 86_400_000);
    await runDurableObjectAlarm(registry(account.userId));
    expect(received).toHaveLength(8);
  });

  it("should treat a URL that is not https as no webhook, and still sign in", async () => {
    const received = receiver(() => new Response(null, { status: 204 }));
    const account = await signUp();
    await configure(account.userId, { SECURITY_WEBHOOK_URL: "http://hooks.example.test/security", SECURITY_WEBHOOK_SECRET: HOOK_SECRET });
    expect((await login(account.email)).status).toBe(200);
    await runDurableObjectAlarm(registry(account.userId));
    expect(received).toHaveLength(0);
    expect(await pendingWebhooks(account.userId)).toEqual([]);
  });

  it("should send nothing when no webhook URL is configured", async () => {
    const received = receiver(() => new Response(null, { status: 204 }));
    const account = await signUp();
    await login(account.email);
    await runDurableObjectAlarm(registry(account.userId));
    expect(received).toHaveLength(0);
  });
});
