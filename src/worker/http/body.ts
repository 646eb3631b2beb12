import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import { log } from "../../shared/log";
import { ApiError } from "../errors";
import { fieldErrors, fieldLabel, ruleOf } from "./validation";

/** Requests larger than this are refused with 413 (Workers itself accepts up to 100 MB; nothing here needs 1 KB). */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * hono's bodyLimit (413 past MAX_BODY_BYTES), and a client that hangs up mid-body answered as
 * such: bodyLimit reads a chunked body itself, so the read that fails can be its own.
 */
export function limitBody(): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    // Thrown, so app.onError renders it in the format of its path (OAuth JSON under /v1/oauth/).
    onError: () => {
      throw new ApiError("payload_too_large", { detail: `The limit is ${MAX_BODY_BYTES} bytes` });
    },
  });
  return async (c, next) => {
    let handedOn = false;
    try {
      return await limit(c, () => {
        handedOn = true;
        return next();
      });
    } catch (error) {
      // Only the body read is bodyLimit's own; what the rest of the app throws passes untouched.
      if (handedOn || error instanceof HTTPException || error instanceof ApiError) throw error;
      throw clientHungUp();
    }
  };
}

/**
 * Reads the body; if the read fails, the client hung up before its body ended (workerd:
 * "Network connection lost."). That is the client's doing, not a server error: no 500, no
 * error-level log. A 400 is answered for the record, though nobody is left to read it.
 */
async function bodyOf<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch {
    throw clientHungUp();
  }
}

function clientHungUp(): ApiError {
  log("info", "client hung up mid-body");
  return new ApiError("validation_failed", { detail: "The request body ended before it was complete" });
}

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
  for (const [name, value] of new URLSearchParams(utf8(await bodyOf(() => c.req.arrayBuffer())))) {
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

/**
 * The body as text, refusing bytes that are not UTF-8 (RFC 8259 §8.1 requires it). A lenient
 * decoder would turn them into U+FFFD, and a name or password would then be stored as something
 * the client never sent. A leading BOM is dropped, as `Request.text()` does.
 */
function utf8(bytes: ArrayBuffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError("validation_failed", { detail: "The body is not valid UTF-8" });
  }
}

async function readJsonValue(c: Context): Promise<unknown> {
  if (!JSON_TYPE.test(c.req.header("Content-Type") ?? ""))
    throw new ApiError("validation_failed", { detail: "Content-Type must be application/json" });
  const text = utf8(await bodyOf(() => c.req.arrayBuffer()));
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError("validation_failed", { detail: "The body is not valid JSON" });
  }
}
