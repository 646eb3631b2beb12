import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "../errors";
import { fieldErrors, fieldLabel, ruleOf } from "./validation";

/** Requests larger than this are refused with 413 (Workers itself accepts up to 100 MB; nothing here needs 1 KB). */
export const MAX_BODY_BYTES = 16 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** Parses a JSON body against a schema, so handlers only ever see typed, validated values. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return parseWith(schema, await readJsonValue(c));
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;.*)?$/i;

/**
 * The fields of an `application/x-www-form-urlencoded` body (the OAuth endpoints, RFC 7662 §2.1 and
 * RFC 7009 §2.1), not yet validated: the OAuth handlers read the client credentials before they
 * validate the rest with `parseWith`, which gives the same 400 `validation_failed` as JSON bodies.
 * A repeated parameter is refused (RFC 6749 §3.2: parameters MUST NOT be included more than once).
 */
export async function readFormFields(c: Context): Promise<Record<string, string>> {
  if (!FORM_TYPE.test(c.req.header("Content-Type") ?? ""))
    throw new ApiError("validation_failed", { detail: "Content-Type must be application/x-www-form-urlencoded" });
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()))) {
    if (Object.hasOwn(fields, name)) throw new ApiError("validation_failed", { detail: `${fieldLabel(name)} must be sent once` });
    fields[name] = value;
  }
  return fields;
}

/** Validates already-read data against a schema: 400 `validation_failed` naming the first issue. */
export function parseWith<S extends z.ZodType>(schema: S, data: unknown): z.output<S> {
  const result = schema.safeParse(data, { error: ruleOf });
  if (!result.success) throw validationFailed(result.error);
  return result.data;
}

/** The one 400 `validation_failed` for a zod error: `errors` lists every issue, `detail` repeats the first. */
export function validationFailed(error: z.ZodError): ApiError {
  const errors = fieldErrors(error);
  return new ApiError("validation_failed", { detail: errors[0]?.message, extra: { errors } });
}

/** The body as JSON, or `undefined` when there is no body at all. */
export async function readOptionalJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S> | undefined> {
  const length = c.req.header("Content-Length");
  if (length === "0" || (length === undefined && !c.req.raw.body)) return undefined;
  return readJson(c, schema);
}

async function readJsonValue(c: Context): Promise<unknown> {
  if (!JSON_TYPE.test(c.req.header("Content-Type") ?? ""))
    throw new ApiError("validation_failed", { detail: "Content-Type must be application/json" });
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError("validation_failed", { detail: "The body is not valid JSON" });
  }
}
