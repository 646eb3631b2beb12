import { describe, expect, it } from "vitest";
import { call, expectProblem, me, PASSWORD, refresh, signIn, signInOn } from "../../support/http";

const NEW_PASSWORD = "a much better passphrase";
const change = (token: string, json: unknown) => call("/v1/auth/password", { method: "POST", token, json });

describe("password change", () => {
  it("should change the password and sign out the other devices, keeping the caller's", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    expect((await change(laptop!.accessToken, { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(204);
    expect((await me(laptop!.accessToken)).status).toBe(200);
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(phone!.refreshToken), 401, "invalid_refresh_token");
    await expectProblem(
      await call("/v1/auth/login", { method: "POST", json: { email: laptop!.email, password: PASSWORD } }),
      401,
      "invalid_credentials",
    );
    await signIn(laptop!.email, "tablet", NEW_PASSWORD);
  });

  it("should keep the other devices when sign_out_others is false", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    expect(
      (await change(laptop!.accessToken, { current_password: PASSWORD, new_password: NEW_PASSWORD, sign_out_others: false })).status,
    ).toBe(204);
    expect((await me(phone!.accessToken)).status).toBe(200);
  });

  it("should refuse a wrong current password with 401 invalid_credentials and change nothing", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    await expectProblem(
      await change(laptop!.accessToken, { current_password: "not the right password", new_password: NEW_PASSWORD }),
      401,
      "invalid_credentials",
    );
    expect((await me(phone!.accessToken)).status).toBe(200);
    await signIn(laptop!.email, "tablet", PASSWORD);
  });

  it("should refuse a revoked session and a too-short new password", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    await expectProblem(await change(laptop!.accessToken, { current_password: PASSWORD, new_password: "short" }), 400, "weak_password");
    await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken });
    await expectProblem(await change(phone!.accessToken, { current_password: PASSWORD, new_password: NEW_PASSWORD }), 401, "invalid_token");
  });
});
