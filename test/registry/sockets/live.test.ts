import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configFrom } from "../../../src/shared/config";
import { signAccessToken } from "../../../src/worker/tokens/access";
import { loadKeySet } from "../../../src/worker/tokens/keys";
import { call, expectProblem, PASSWORD, signIn, signInOn } from "../../support/http";
import { registry } from "../../support/registry";
import { connect, upgrade, within } from "../../support/socket";

describe("the live channel", () => {
  it("should accept a live session's token and echo only the sessions.v1 subprotocol", async () => {
    const [laptop] = await signInOn("laptop");
    const response = await upgrade(laptop!.accessToken);
    expect(response.status).toBe(101);
    expect(response.headers.get("Sec-WebSocket-Protocol")).toBe("sessions.v1");
    response.webSocket!.accept();
    response.webSocket!.close(1000);
  });

  it("should refuse a revoked session's token with 401 before any upgrade", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);
    const refused = await upgrade(phone!.accessToken);
    await expectProblem(refused, 401, "invalid_token");
    expect(refused.webSocket).toBeNull();
    expect(refused.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
  });

  it("should refuse an expired access token with 401", async () => {
    const [laptop] = await signInOn("laptop");
    const config = configFrom(env);
    const issuedLongAgo = Date.now() - (config.accessTokenTtlSeconds + 60) * 1000;
    const expired = await signAccessToken(
      await loadKeySet(env.JWT_SIGNING_KEYS),
      config,
      { ...laptop!, auth: { authTime: issuedLongAgo, amr: ["pwd"], signInMethod: "password" } },
      issuedLongAgo,
    );
    await expectProblem(await upgrade(expired), 401, "invalid_token");
  });

  it("should refuse a missing token, a token without the sessions.v1 protocol, and a plain GET", async () => {
    const [laptop] = await signInOn("laptop");
    await expectProblem(await upgrade(laptop!.accessToken, "sessions.v1"), 401, "invalid_token");
    await expectProblem(await upgrade(laptop!.accessToken, `bearer.${laptop!.accessToken}`), 401, "invalid_token");
    await expectProblem(await upgrade(laptop!.accessToken, "sessions.v1, bearer.not-a-jwt"), 401, "invalid_token");
    await expectProblem(await call("/v1/sessions/live", { token: laptop!.accessToken }), 426, "upgrade_required");
  });

  it("should tell the revoked device and close its socket with 4001, and update the revoking device's list", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const onLaptop = await connect(laptop!.accessToken);
    const onPhone = await connect(phone!.accessToken);

    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);

    // Delivered within the revoking request: the frames are already on their way when it returns.
    // It names the device that did it, by its session and its name, so the phone can say which.
    const { device } = ((await (await call("/v1/me", { token: laptop!.accessToken })).json()) as { session: { device: { name: string } } })
      .session;
    expect(await onPhone.next()).toMatchObject({
      type: "session_revoked",
      session_id: phone!.sessionId,
      reason: "revoked_by_other_device",
      by: { session_id: laptop!.sessionId, name: device.name },
    });
    expect(await within(onPhone.closed)).toEqual({ code: 4001, reason: "session revoked" });
    expect(await onLaptop.next()).toMatchObject({ type: "session_revoked", session_id: phone!.sessionId });
    onLaptop.socket.close(1000);
  });

  it("should tell a device signed out by a password change why, naming the device it was changed on; a device that ends itself names none", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const onPhone = await connect(phone!.accessToken);
    const onLaptop = await connect(laptop!.accessToken);
    const changed = await call("/v1/auth/password", {
      method: "POST",
      token: laptop!.accessToken,
      json: { current_password: PASSWORD, new_password: `${PASSWORD} again`, sign_out_others: true },
    });
    expect(changed.status).toBe(204);
    expect(await onPhone.next()).toMatchObject({
      type: "session_revoked",
      session_id: phone!.sessionId,
      reason: "password_changed",
      by: { session_id: laptop!.sessionId },
    });
    expect((await call("/v1/auth/logout", { method: "POST", token: laptop!.accessToken })).status).toBe(204);
    expect(await onLaptop.next()).toMatchObject({ type: "session_revoked", session_id: phone!.sessionId });
    expect(await onLaptop.next()).toMatchObject({ type: "session_revoked", session_id: laptop!.sessionId, reason: "signed_out", by: null });
  });

  it("should tell every open device about a rename at once, with the session as it now stands", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const onPhone = await connect(phone!.accessToken);
    const renamed = await call(`/v1/sessions/${laptop!.sessionId}`, {
      method: "PATCH",
      token: laptop!.accessToken,
      json: { name: "Kitchen Mac" },
    });
    expect(renamed.status).toBe(200);
    expect(await onPhone.next()).toMatchObject({
      type: "session_updated",
      session: { id: laptop!.sessionId, current: false, device: { name: "Kitchen Mac" } },
    });
    onPhone.socket.close(1000);
  });

  it("should tell the other devices about a new sign-in with the new session's JSON", async () => {
    const [laptop] = await signInOn("laptop");
    const onLaptop = await connect(laptop!.accessToken);
    // Same kind of device, so no new-device finding comes first (that case is tested below).
    const second = await signIn(laptop!.email, "laptop");
    const frame = await onLaptop.next();
    expect(frame.type).toBe("session_created");
    expect(frame.session).toMatchObject({ id: second.sessionId, current: false, device: { type: "desktop" } });
    onLaptop.socket.close(1000);
  });

  it("should close every other device's socket on logout-others and keep the caller's open", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    const [onLaptop, onPhone, onTablet] = await Promise.all([laptop, phone, tablet].map((d) => connect(d!.accessToken)));
    expect((await call("/v1/auth/logout-others", { method: "POST", token: laptop!.accessToken })).status).toBe(200);
    expect((await within(onPhone!.closed)).code).toBe(4001);
    expect((await within(onTablet!.closed)).code).toBe(4001);
    const seen = [await onLaptop!.next(), await onLaptop!.next()].map((f) => f.session_id).sort();
    expect(seen).toEqual([phone!.sessionId, tablet!.sessionId].sort());
    expect(onLaptop!.socket.readyState).toBe(WebSocket.OPEN);
    onLaptop!.socket.close(1000);
  });

  it("should still deliver after the registry was evicted with its sockets hibernated", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const onLaptop = await connect(laptop!.accessToken);
    const onPhone = await connect(phone!.accessToken);
    await evictDurableObject(registry(laptop!.userId));

    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);
    expect(await onPhone.next()).toMatchObject({ type: "session_revoked", session_id: phone!.sessionId });
    expect((await within(onPhone.closed)).code).toBe(4001);
    expect(await onLaptop.next()).toMatchObject({ type: "session_revoked", session_id: phone!.sessionId });
    onLaptop.socket.close(1000);
  });

  it("should close an expired session's hibernated socket with 4002 when the alarm runs, and tell the others", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const onLaptop = await connect(laptop!.accessToken);
    const onPhone = await connect(phone!.accessToken);
    const stub = registry(laptop!.userId);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE sessions SET expires_at = ? WHERE id = ?", Date.now() - 1000, phone!.sessionId);
    });
    // Evicted, the object reloads only live sessions; the phone's socket stays attached, hibernated.
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await onPhone.next()).toMatchObject({ type: "session_expired", session_id: phone!.sessionId, cause: "lifetime" });
    expect(await within(onPhone.closed)).toEqual({ code: 4002, reason: "session expired" });
    expect(await onLaptop.next()).toMatchObject({ type: "session_expired", session_id: phone!.sessionId });
    expect(onLaptop.socket.readyState).toBe(WebSocket.OPEN);
    onLaptop.socket.close(1000);
  });

  it("should close the oldest socket of a session with 4008 once it has more than 16", async () => {
    const [laptop] = await signInOn("laptop");
    const sockets = [];
    for (let i = 0; i < 17; i++) sockets.push(await connect(laptop!.accessToken));
    expect(await within(sockets[0]!.closed)).toEqual({ code: 4008, reason: "too many connections" });
    expect(sockets.slice(1).every((s) => s.socket.readyState === WebSocket.OPEN)).toBe(true);
    for (const s of sockets.slice(1)) s.socket.close(1000);
  });

  it("should push suspicious_sign_in and a “was this you?” notice to the user's open devices when a new kind of device signs in", async () => {
    const [laptop] = await signInOn("laptop");
    const onLaptop = await connect(laptop!.accessToken);
    const phone = await signIn(laptop!.email, "phone");
    const received = [await onLaptop.next(), await onLaptop.next(), await onLaptop.next()] as { type: string }[];
    expect(received.map((event) => event.type).sort()).toEqual(["risk_notice", "session_created", "suspicious_sign_in"]);
    expect(received.find((event) => event.type === "risk_notice")).toMatchObject({
      notice: { id: expect.stringMatching(/^evt_/), session_id: phone.sessionId, findings: ["new_device"], device: { type: "mobile" } },
    });
    expect(received.find((event) => event.type === "suspicious_sign_in")).toEqual({
      type: "suspicious_sign_in",
      session_id: phone.sessionId,
      reasons: ["new_device"],
      at: expect.any(String),
    });
    onLaptop.socket.close(1000);
  });
});
