import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { configFrom } from "../../../src/shared/config";
import { signAccessToken } from "../../../src/worker/tokens/access";
import { loadKeySet } from "../../../src/worker/tokens/keys";
import { call, expectProblem, me, refresh, type SignedIn, signIn, signInOn, signUp } from "../../support/http";
import { configure, registry } from "../../support/registry";
import { authenticate, connect, type LiveClient, tokenExpiresAt, within } from "../../support/socket";

afterEach(() => {
  vi.useRealTimers();
});

const alarmAt = (userId: string) => runInDurableObject(registry(userId), (_instance, state) => state.storage.getAlarm());

/** A fresh access token of the device's session, from a refresh at the current (fake) time. */
async function refreshed(device: SignedIn): Promise<SignedIn> {
  const response = await refresh(device.refreshToken);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; refresh_token: string };
  return { ...device, accessToken: body.access_token, refreshToken: body.refresh_token };
}

/** Frames on one socket arrive in order: a new sign-in heard next proves nothing was sent, or closed, before it. */
async function expectStillOpen(client: LiveClient, email: string) {
  const next = await signIn(email, "laptop");
  expect(await client.next()).toMatchObject({ type: "session_created", session: { id: next.sessionId } });
  expect(client.socket.readyState).toBe(WebSocket.OPEN);
}

describe("a live socket lives no longer than its access token", () => {
  it("should close a socket with 4003 when the alarm runs at its token's exp, and leave the session and its other sockets open", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const onLaptop = await connect(laptop.accessToken);
    const deadline = tokenExpiresAt(laptop.accessToken);
    // The Worker forwarded the token's exp: the registry's alarm is set for it (the idle deadline is 14 days away).
    expect(await alarmAt(laptop.userId)).toBe(deadline);

    vi.setSystemTime(start + 300_000);
    const phoneLater = await refreshed(phone);
    const onPhone = await connect(phoneLater.accessToken);

    vi.setSystemTime(deadline);
    expect(await runDurableObjectAlarm(registry(laptop.userId))).toBe(true);
    expect(await within(onLaptop.closed)).toEqual({ code: 4003, reason: "token expired" });
    expect(onLaptop.received).toEqual([]);
    // Only that socket's authority ended: the session goes on, and the phone heard nothing about it.
    const listed = (await (await call("/v1/sessions", { token: phoneLater.accessToken })).json()) as { sessions: { id: string }[] };
    expect(listed.sessions.map((session) => session.id)).toContain(laptop.sessionId);
    await expectStillOpen(onPhone, laptop.email);
    // Once the new sign-in's confirmation and D1 write have landed (after its answer), its guards are gone.
    await vi.waitFor(async () => expect(await alarmAt(laptop.userId)).toBe(tokenExpiresAt(phoneLater.accessToken)));
    onPhone.socket.close(1000);
  });

  it("should send nothing on a socket past its token's exp before the alarm has run, and close it with 4003 instead", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const onLaptop = await connect(laptop.accessToken);
    vi.setSystemTime(tokenExpiresAt(laptop.accessToken) + 1000);
    // A new sign-in is news the socket would carry: it is not sent, the socket is closed.
    await signIn(laptop.email, "phone");
    expect(await within(onLaptop.closed)).toEqual({ code: 4003, reason: "token expired" });
    expect(onLaptop.received).toEqual([]);
  });

  it("should let the client re-authenticate over the socket with a fresh token of its session, moving the deadline to that token's exp", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const onLaptop = await connect(laptop.accessToken);
    const firstDeadline = tokenExpiresAt(laptop.accessToken);

    vi.setSystemTime(start + 500_000);
    const fresh = await refreshed(laptop);
    authenticate(onLaptop, fresh.accessToken);
    const secondDeadline = tokenExpiresAt(fresh.accessToken);
    expect(secondDeadline).toBeGreaterThan(firstDeadline);
    expect(await onLaptop.next()).toEqual({
      type: "authenticated",
      session_id: laptop.sessionId,
      expires_at: new Date(secondDeadline).toISOString(),
    });

    vi.setSystemTime(firstDeadline + 1000);
    expect(await runDurableObjectAlarm(registry(laptop.userId))).toBe(true);
    await expectStillOpen(onLaptop, laptop.email);

    vi.setSystemTime(secondDeadline);
    expect(await runDurableObjectAlarm(registry(laptop.userId))).toBe(true);
    expect(await within(onLaptop.closed)).toEqual({ code: 4003, reason: "token expired" });
  });

  it("should refuse, with 4004, a token of another session, of another user, an expired one, a forged one or none, and keep the session", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    const stranger = await signUp();
    const config = configFrom(env);
    const longAgo = Date.now() - (config.accessTokenTtlSeconds + 60) * 1000;
    const expired = await signAccessToken(
      await loadKeySet(env.JWT_SIGNING_KEYS),
      config,
      { ...laptop, auth: { authTime: longAgo, amr: ["pwd"], signInMethod: "password" } },
      longAgo,
    );
    const frames = [
      JSON.stringify({ type: "authenticate", access_token: phone.accessToken }),
      JSON.stringify({ type: "authenticate", access_token: stranger.accessToken }),
      JSON.stringify({ type: "authenticate", access_token: expired }),
      JSON.stringify({ type: "authenticate", access_token: `${laptop.accessToken.slice(0, -4)}AAAA` }),
      JSON.stringify({ type: "authenticate" }),
    ];
    for (const frame of frames) {
      const onLaptop = await connect(laptop.accessToken);
      onLaptop.socket.send(frame);
      expect(await within(onLaptop.closed), frame.slice(0, 60)).toEqual({ code: 4004, reason: "token refused" });
      expect(onLaptop.received).toEqual([]);
    }
    expect((await me(laptop.accessToken)).status).toBe(200);
    expect((await me(phone.accessToken)).status).toBe(200);
  });

  it("should refuse an upgrade the Worker forwarded without the token's exp, or with one already past", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const forwarded = (exp?: string) =>
      registry(laptop.userId).fetch(
        new Request("https://registry.internal/live", {
          headers: {
            Upgrade: "websocket",
            "X-Live-Session-Id": laptop.sessionId,
            ...(exp === undefined ? {} : { "X-Live-Token-Exp": exp }),
          },
        }),
      );
    for (const exp of [undefined, "", "soon", "1.5", String(Math.floor(Date.now() / 1000) - 1)]) {
      expect((await forwarded(exp)).status, String(exp)).toBe(401);
    }
    expect((await forwarded(String(Math.floor(Date.now() / 1000) + 60))).status).toBe(101);
  });
});

describe("client frames", () => {
  it("should not count as activity: a socket that keeps talking does not keep its session from going idle", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    await configure(laptop.userId, { SESSION_IDLE_TIMEOUT_SECONDS: "300" });
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    const onPhone = await connect(phone.accessToken);
    for (const at of [100_000, 200_000, 290_000]) {
      vi.setSystemTime(start + at);
      onPhone.socket.send("still here");
      // Acknowledged, so every frame before it has been handled too (one socket's frames arrive in order).
      authenticate(onPhone, phone.accessToken);
      expect(await onPhone.next()).toMatchObject({ type: "authenticated", session_id: phone.sessionId });
    }
    vi.setSystemTime(start + 301_000);
    await expectProblem(await me(phone.accessToken), 401, "invalid_token");
    expect(await runDurableObjectAlarm(registry(laptop.userId))).toBe(true);
    expect(await onPhone.next()).toMatchObject({ type: "session_expired", session_id: phone.sessionId });
    expect(await within(onPhone.closed)).toEqual({ code: 4002, reason: "session expired" });
  });

  it("should close a socket with 4009 for a frame over 4 KiB", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const onLaptop = await connect(laptop.accessToken);
    onLaptop.socket.send("x".repeat(4097));
    expect(await within(onLaptop.closed)).toEqual({ code: 4009, reason: "frame too large" });
    // Measured in bytes: 2,049 two-byte characters are over the limit too.
    const again = await connect(laptop.accessToken);
    again.socket.send("é".repeat(2049));
    expect(await within(again.closed)).toEqual({ code: 4009, reason: "frame too large" });
  });

  it("should close a socket with 4029 at its eleventh frame within a minute, and allow ten", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const onLaptop = await connect(laptop.accessToken);
    for (let i = 0; i < 10; i++) {
      authenticate(onLaptop, laptop.accessToken);
      expect(await onLaptop.next()).toMatchObject({ type: "authenticated" });
    }
    onLaptop.socket.send("one too many");
    expect(await within(onLaptop.closed)).toEqual({ code: 4029, reason: "too many frames" });
    expect((await me(laptop.accessToken)).status).toBe(200);
  });
});
