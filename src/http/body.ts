import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "../errors";

/** Requests larger than this are refused with 413 (Workers itself accepts up to 100 MB; nothing here needs 1 KB). */
export const MAX_BODY_BYTES = 16 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** Parses a JSON body against a schema, so handlers only ever see typed, validated values. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const data = await readJsonValue(c);
  const result = schema.safeParse(data);
  if (!result.success) {
    const errors = result.error.issues.map((issue) => ({ field: issue.path.join(".") || null, message: issue.message }));
    throw new ApiError("validation_failed", errors[0]?.message, {}, { errors });
  }
  return result.data;
}

/** The body as JSON, or `undefined` when there is no body at all. */
export async function readOptionalJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S> | undefined> {
  const length = c.req.header("Content-Length");
  if (length === "0" || (length === undefined && !c.req.raw.body)) return undefined;
  return readJson(c, schema);
}

async function readJsonValue(c: Context): Promise<unknown> {
  if (!JSON_TYPE.test(c.req.header("Content-Type") ?? "")) throw new ApiError("validation_failed", "Content-Type must be application/json");
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError("validation_failed", "The body is not valid JSON");
  }
}
