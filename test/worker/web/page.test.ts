import { describe, expect, it } from "vitest";
import { call } from "../../support/http";

describe("the devices page", () => {
  it("should serve the page shell with a strict CSP, no framing, and no inline script or style", async () => {
    const response = await call("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    for (const directive of [
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response.headers.get("X-Frame-Options")).toBe("DENY");
    const html = await response.text();
    expect(html).toContain('<script type="module" src="/assets/devices-page.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/assets/devices.css"/>');
    // Every <script> has a src, no element has a style attribute, no <style> block: the CSP holds.
    expect(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g)).toBeNull();
    expect(html).not.toMatch(/\sstyle=|<style[\s>]/);
    expect(html).toContain('<label for="email">');
  });

  it("should send the same security headers on API responses", async () => {
    const response = await call("/healthz");
    expect(response.headers.get("X-Frame-Options")).toBe("DENY");
    expect(response.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("should answer 405 for a POST to the page", async () => {
    expect((await call("/", { method: "POST" })).status).toBe(405);
  });
});
