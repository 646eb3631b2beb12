import { describe, expect, it } from "vitest";
import { newPassword } from "../../../src/worker/http/validation";
import { call, expectProblem, PASSWORD, signUp, uniqueEmail } from "../../support/http";

type FieldError = { field: string | null; message: string };

async function refusal(response: Response): Promise<{ detail: string; errors: FieldError[] }> {
  const body = (await expectProblem(response, 400, "validation_failed")) as unknown as { detail: string; errors: FieldError[] };
  // `detail` is what a page shows: always the first message, word for word.
  expect(body.detail).toBe(body.errors[0]!.message);
  return body;
}

const signup = (json: unknown) => call("/v1/auth/signup", { method: "POST", json });

describe("validation messages", () => {
  it("should name each missing field in a sentence, in detail and in errors", async () => {
    expect(await refusal(await signup({}))).toMatchObject({
      detail: "Email is required",
      errors: [
        { field: "email", message: "Email is required" },
        { field: "password", message: "Password is required" },
      ],
    });
  });

  it("should state the rule a value broke, with the schema's own limit", async () => {
    const max = newPassword.maxLength!;
    const long = await refusal(await signup({ email: uniqueEmail(), password: "p".repeat(max + 1), token_transport: "body" }));
    expect(long.errors).toEqual([{ field: "password", message: `Password must be at most ${max} characters` }]);

    const cases: [unknown, FieldError][] = [
      [
        { email: uniqueEmail(), password: PASSWORD, device_name: "d".repeat(65) },
        { field: "device_name", message: "device_name must be at most 64 characters" },
      ],
      [
        { email: "nope", password: PASSWORD },
        { field: "email", message: "Email must be an email address" },
      ],
      [
        { email: uniqueEmail(), password: PASSWORD, token_transport: "pigeon" },
        { field: "token_transport", message: 'token_transport must be one of "cookie" or "body"' },
      ],
      [
        { email: 5, password: PASSWORD },
        { field: "email", message: "Email must be a string" },
      ],
      [null, { field: null, message: "The body must be a JSON object" }],
    ];
    for (const [body, expected] of cases) expect((await refusal(await signup(body))).errors).toEqual([expected]);
  });

  it("should speak the same way about query parameters and the other bodies", async () => {
    const device = await signUp();
    const token = device.accessToken;
    const events = (query: string) => call(`/v1/security-events?${query}`, { token });
    expect((await refusal(await events("limit=0"))).detail).toBe("Limit must be at least 1");
    expect((await refusal(await events("limit=many"))).detail).toBe("Limit must be a number");
    const password = await call("/v1/auth/password", {
      method: "POST",
      token,
      json: { current_password: PASSWORD, sign_out_others: "yes" },
    });
    expect((await refusal(password)).errors.map((e) => e.message)).toEqual([
      "new_password is required",
      "sign_out_others must be true or false",
    ]);
    const rename = await call(`/v1/sessions/${device.sessionId}`, { method: "PATCH", token, json: { name: "   " } });
    expect((await refusal(rename)).detail).toBe("Name must not be empty");
  });
});
