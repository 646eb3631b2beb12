import { type Schema, Validator } from "@cfworker/json-schema";
import committed from "../../docs/openapi.json";

/**
 * Holds responses to docs/openapi.json: the documented status, its required headers and their
 * schemas, the content type, and the body against its schema (JSON Schema 2020-12, the OpenAPI 3.1
 * dialect). @cfworker/json-schema interprets schemas and never compiles code, so it runs in workerd
 * without the vitest pool's `new Function` patch.
 *
 * `call()` and the other ways tests reach the Worker pass every response through `held()`: a
 * response that drifts from the document fails the test that received it, and each documented
 * response received is counted for the coverage line `npm test` prints (test/support/openapi-coverage.mjs).
 */

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: Record<string, unknown>;
}
interface Operation {
  responses: Record<string, ResponseObject>;
}
interface HeaderObject {
  required?: boolean;
  schema?: Schema;
  $ref?: string;
}
interface ResponseObject {
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema?: Schema }>;
}

export interface Verdict {
  ok: boolean;
  errors: string[];
  /** `METHOD /template status` of the documented response that was matched, for the coverage count. */
  covered?: string;
}

export const document = committed as unknown as OpenApiDocument;

const validators = new WeakMap<object, Map<string, Validator>>();

function validatorFor(doc: OpenApiDocument, key: string, schema: Schema): Validator {
  let cache = validators.get(doc);
  if (!cache) validators.set(doc, (cache = new Map()));
  let validator = cache.get(key);
  if (!validator) {
    // Under the document's own `components`, so `#/components/schemas/…` resolves.
    const root = { components: structuredClone(doc.components ?? {}), allOf: [structuredClone(schema)] } as Schema;
    validator = new Validator(root, "2020-12", false);
    cache.set(key, validator);
  }
  return validator;
}

function componentAt(doc: OpenApiDocument, ref: string): unknown {
  const found = ref
    .replace(/^#\//, "")
    .split("/")
    .reduce<any>((node, key) => node?.[key], doc);
  if (found === undefined) throw new Error(`docs/openapi.json: ${ref} does not resolve`);
  return found;
}

const essence = (contentType: string) => contentType.split(";")[0]!.trim().toLowerCase();
const isJson = (mediaType: string) => /^application\/(?:[\w.+-]+\+)?json$/.test(mediaType);

/** Validates one response against one documented operation; reads a clone, so the caller can still read the body. */
export async function validateResponse(doc: OpenApiDocument, method: string, template: string, response: Response): Promise<Verdict> {
  const operation = doc.paths[template]?.[method.toLowerCase()];
  const where = `${method.toUpperCase()} ${template} ${response.status}`;
  if (!operation) return { ok: false, errors: [`${method.toUpperCase()} ${template} is not in the document`] };
  const status = String(response.status);
  const statusKey = [status, `${status[0]}XX`, "default"].find((key) => key in operation.responses);
  if (!statusKey) {
    return { ok: false, errors: [`${where}: status not documented (documented: ${Object.keys(operation.responses).join(", ")})`] };
  }
  const documented = operation.responses[statusKey]!;
  const covered = `${method.toUpperCase()} ${template} ${statusKey}`;
  const errors: string[] = [];

  for (const [name, declared] of Object.entries(documented.headers ?? {})) {
    const header = declared.$ref === undefined ? declared : (componentAt(doc, declared.$ref) as HeaderObject);
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required) errors.push(`${where}: required header ${name} missing`);
    } else if (header.schema) {
      const result = validatorFor(doc, `header ${covered} ${name}`, header.schema).validate(value);
      if (!result.valid) errors.push(`${where}: header ${name}: ${result.errors.map((e) => e.error).join("; ")}`);
    }
  }

  // A WebSocket upgrade has no body to read.
  if (response.status === 101) return { ok: errors.length === 0, errors, covered };
  const text = await response.clone().text();
  const contentType = response.headers.get("Content-Type");
  if (!documented.content) {
    if (text.length > 0) errors.push(`${where}: documented without a body, got ${text.length} bytes of ${contentType}`);
    return { ok: errors.length === 0, errors, covered };
  }
  const mediaType = contentType === null ? undefined : essence(contentType);
  if (mediaType === undefined || !(mediaType in documented.content)) {
    errors.push(`${where}: Content-Type ${contentType} not documented (documented: ${Object.keys(documented.content).join(", ")})`);
    return { ok: false, errors, covered };
  }
  const schema = documented.content[mediaType]!.schema;
  if (schema && isJson(mediaType)) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      errors.push(`${where}: the body is not JSON`);
      return { ok: false, errors, covered };
    }
    const result = validatorFor(doc, `body ${covered} ${mediaType}`, schema).validate(body);
    // The leaves say which property broke which keyword; the wrappers only repeat that it failed.
    for (const e of result.errors) {
      if (!["properties", "allOf", "anyOf", "oneOf", "$ref", "items"].includes(e.keyword)) {
        errors.push(`${where}: body ${e.instanceLocation} ${e.keyword}: ${e.error}`);
      }
    }
    if (!result.valid && errors.length === 0) errors.push(`${where}: the body does not match its schema`);
  } else if (schema && (schema as { type?: string }).type === "string" && text.length === 0) {
    errors.push(`${where}: an empty ${mediaType} body`);
  }
  return { ok: errors.length === 0, errors, covered };
}

/** The documented path template a concrete path falls under (`/v1/sessions/ses_…` → `/v1/sessions/{id}`); literal segments win. */
export function templateFor(doc: OpenApiDocument, pathname: string): string | undefined {
  const matching = Object.keys(doc.paths).filter((template) => {
    const pattern = template
      .split("/")
      .map((segment) => (/^\{[^}]+\}$/.test(segment) ? "[^/]+" : segment.replace(/[.*+?^$()|[\]\\]/g, "\\$&")))
      .join("/");
    return new RegExp(`^${pattern}$`).test(pathname);
  });
  const params = (template: string) => template.split("{").length;
  return matching.sort((a, b) => params(a) - params(b))[0];
}

/** The documented responses this test file received; test/support/setup.ts hands them to the reporter. */
export const received = new Set<string>();

/**
 * Every response a test gets from the Worker comes through here: when its operation is documented,
 * it must match the document, or the test fails with every difference. Paths and methods the
 * document does not describe (404s for unknown paths, 405s, HEAD) are left to the tests.
 */
export async function held(request: Request, response: Response, doc: OpenApiDocument = document): Promise<Response> {
  const template = templateFor(doc, new URL(request.url).pathname);
  if (!template || !doc.paths[template]?.[request.method.toLowerCase()]) return response;
  const verdict = await validateResponse(doc, request.method, template, response);
  if (!verdict.ok) throw new Error(`The response drifted from docs/openapi.json:\n  ${verdict.errors.join("\n  ")}`);
  if (verdict.covered) received.add(verdict.covered);
  return response;
}
