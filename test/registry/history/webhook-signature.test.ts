import { describe, expect, it } from "vitest";
import { signatureHeader, verifySignatureHeader } from "../../../src/registry/webhook-signature";

const SECRET = "whsec_test_signature";
const BODY = '{"id":"evt_1","type":"signed_in"}';

describe("webhook signatures", () => {
  it("should produce t=<unix>,v1=<hex HMAC-SHA256 of t.body> that the reference verifier accepts", async () => {
    const header = await signatureHeader(SECRET, BODY, 1_700_000_000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(await verifySignatureHeader(SECRET, header, BODY, 1_700_000_000 + 299)).toBe(true);
  });

  it("should refuse a tampered body, a wrong secret, a stale or future timestamp, and a malformed header", async () => {
    const header = await signatureHeader(SECRET, BODY, 1_700_000_000);
    expect(await verifySignatureHeader(SECRET, header, BODY.replace("signed_in", "signed_out"), 1_700_000_000)).toBe(false);
    expect(await verifySignatureHeader("another secret", header, BODY, 1_700_000_000)).toBe(false);
    expect(await verifySignatureHeader(SECRET, header, BODY, 1_700_000_000 + 301)).toBe(false);
    expect(await verifySignatureHeader(SECRET, header, BODY, 1_700_000_000 - 301)).toBe(false);
    expect(await verifySignatureHeader(SECRET, "v1=abc", BODY, 1_700_000_000)).toBe(false);
    expect(await verifySignatureHeader(SECRET, header.replace(/^t=\d+/, "t=1700000001"), BODY, 1_700_000_000)).toBe(false);
  });
});
