import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/worker/app";
import { call, expectProblem, ORIGIN, signUp } from "../../support/http";
import { held } from "../../support/openapi";

const stats = (authorization?: string) =>
  call("/v1/admin/stats", authorization === undefined ? {} : { headers: { Authorization: authorization } });

async function expectAdminRefused(response: Response) {
  await expectProblem(response, 401, "admin_unauthorized");
  expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="admin"');
}

describe("the admin credential", () => {
  it("should refuse a missing or wrong credential with 401 admin_unauthorized", async () => {
    const token = env.ADMIN_TOKEN!;
    await expectAdminRefused(await stats());
    await expectAdminRefused(await stats(""));
    await expectAdminRefused(await stats(`Bearer ${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`)); // same length, one character off
    await expectAdminRefused(await stats(`Bearer ${token}x`));
    await expectAdminRefused(await stats(`Basic ${btoa(`admin:${token}`)}`));
    await expectAdminRefused(await stats(`Bearer ${token} ${token}`));
    expect((await stats(`Bearer ${token}`)).status).toBe(200);
  });

  it("should not take a user's access token as an admin credential", async () => {
    const user = await signUp();
    await expectAdminRefused(await call(`/v1/admin/users/${user.userId}/sessions`, { token: user.accessToken }));
  });

  it("should guard every admin route, whatever the method or path", async () => {
    for (const [method, path] of [
      ["GET", "/v1/admin/users?email=a@example.com"],
      ["GET", "/v1/admin/users/usr_AAAAAAAAAAAAAAAAAAAAAA"],
      ["GET", "/v1/admin/users/usr_AAAAAAAAAAAAAAAAAAAAAA/sessions"],
      ["DELETE", "/v1/admin/users/usr_AAAAAAAAAAAAAAAAAAAAAA/sessions/ses_AAAAAAAAAAAAAAAAAAAAAA"],
      ["POST", "/v1/admin/users/usr_AAAAAAAAAAAAAAAAAAAAAA/sessions/revoke-all"],
      ["POST", "/v1/admin/users/usr_AAAAAAAAAAAAAAAAAAAAAA/disable"],
      ["POST", "/v1/admin/users/usr_AAAAAAAAAAAAAAAAAAAAAA/enable"],
      ["POST", "/v1/admin/users/usr_AAAAAAAAAAAAAAAAAAAAAA/reconcile"],
      ["GET", "/v1/admin/nothing-here"],
    ] as const) {
      await expectAdminRefused(await call(path, { method }));
    }
  });

  it("should answer 404 on every admin route when ADMIN_TOKEN is unset: the admin API is off until an operator sets it", async () => {
    for (const ADMIN_TOKEN of [undefined, ""]) {
      const request = new Request(`${ORIGIN}/v1/admin/stats`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      const response = await held(request, await app.fetch(request, { ...env, ADMIN_TOKEN }, createExecutionContext()));
      await expectProblem(response, 404, "not_found");
    }
  });
});
