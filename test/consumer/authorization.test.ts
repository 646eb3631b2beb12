import { describe, expect, it } from "vitest";
import { isCanonicalCompactJws } from "../../consumer/token-format";
import { genuineTokenWithUrlSafeCharacters, nonCanonicalVariants } from "../support/forge";
import { expectProblem, signUp } from "../support/http";
import { clock, consumerApp, countingBinding } from "./support";

/** The header and the token spelling are read by the parser the service uses too (consumer/token-format.ts). */
describe.each(["strict", "cached", "stateless"] as const)("requireSession %s mode, the Authorization header", (mode) => {
  const app = () => {
    const { binding } = countingBinding();
    return consumerApp({ mode, binding: () => binding, now: clock().now });
  };

  it("should accept the Bearer scheme in any case, with one or more spaces before the token (RFC 6750 §2.1)", async () => {
    const request = app();
    const device = await signUp();
    for (const authorization of [
      `Bearer ${device.accessToken}`,
      `Bearer  ${device.accessToken}`,
      `bearer   ${device.accessToken}`,
      `BEARER ${device.accessToken}`,
    ])
      expect((await request(undefined, undefined, authorization)).status, authorization.slice(0, 10)).toBe(200);
    for (const authorization of [
      `Bearer\t${device.accessToken}`,
      `Bearer${device.accessToken}`,
      `Bearer ${device.accessToken} x`,
      // The scheme is the header's first word, whole.
      `XBearer ${device.accessToken}`,
      `Basic Bearer ${device.accessToken}`,
    ])
      await expectProblem(await request(undefined, undefined, authorization), 401, "invalid_token");
  });

  it("should answer a request without an Authorization header with 401 and the Bearer challenge", async () => {
    const refused = await app()();
    await expectProblem(refused, 401, "invalid_token");
    expect(refused.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
  });

  it("should refuse a genuine token whose last signature character has its spare bits changed, as the service does", async () => {
    const request = app();
    const device = await signUp();
    const token = await genuineTokenWithUrlSafeCharacters(device);
    expect((await request(token)).status).toBe(200);
    for (const [name, variant] of Object.entries(nonCanonicalVariants(token))) expect((await request(variant)).status, name).toBe(401);
  });
});

describe("isCanonicalCompactJws, the spelling check the service and the consumer share", () => {
  it("should take three canonical parts only, not two or four", async () => {
    const [h, p, sig] = (await signUp()).accessToken.split(".") as [string, string, string];
    expect([`${h}.${p}.${sig}`, `${h}.${p}`, `${h}.${p}.${sig}.${sig}`, `${h}.${p}.${sig}.`].map(isCanonicalCompactJws)).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });
});
