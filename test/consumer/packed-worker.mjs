// The consumer package as a stranger gets it: `npm pack` (which runs its clean build), the tarball
// installed into a Worker project made on the fly in a temporary directory (outside this repository,
// so nothing can resolve from its node_modules or its source), that project type-checked against
// the package's declarations and bundled. vitest.config.ts runs the bundle as an auxiliary Worker
// bound to the service; test/consumer/packed-worker.test.ts drives it. Nothing is kept between runs.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGE = "@edge-sessions/consumer";

// What a developer would write: the README's first example, in strict mode.
const WORKER = `import { requireSession, type SessionCheckMode, type SessionServiceBinding, type SessionVariables } from "${PACKAGE}";
import { Hono } from "hono";

interface Env {
  SESSIONS: SessionServiceBinding;
}

const app = new Hono<{ Bindings: Env; Variables: SessionVariables }>();
app.use("*", requireSession({ mode: "strict", binding: "SESSIONS", issuer: "https://auth.example.com", audience: "https://api.example.com" }));
app.get("/me", (c) => {
  const { userId, sessionId, liveness, mode } = c.get("session");
  return c.json({ userId, sessionId, liveness, mode });
});

// @ts-expect-error: not a mode. Declarations that failed to resolve would make every import \`any\`, and this line an error.
const notAMode: SessionCheckMode = "eventually";
void notAMode;

export default app;
`;

// A Worker project's usual settings (wrangler's template resolves like a bundler); nodenext is how
// a stricter project, or a tool outside the bundler, reads the same declarations.
const tsconfig = (moduleResolution) => ({
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022"],
    module: moduleResolution === "nodenext" ? "NodeNext" : "ESNext",
    moduleResolution,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [join(ROOT, "node_modules", "@cloudflare", "workers-types")],
  },
  include: ["src"],
});

const run = promisify(execFile);

async function step(what, command, args, cwd) {
  try {
    return await run(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    throw new Error(`packed consumer: ${what} failed:\n${error.stdout ?? ""}${error.stderr ?? error.message}`);
  }
}

/** Diagnostics of a type check, or "" when it passed: the test asserts on it, so a failure names the error. */
async function typecheck(scratch, moduleResolution) {
  const config = `tsconfig.${moduleResolution}.json`;
  writeFileSync(join(scratch, config), JSON.stringify(tsconfig(moduleResolution)));
  try {
    await run(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", config], { cwd: scratch });
    return "";
  } catch (error) {
    return `${error.stdout ?? ""}${error.stderr ?? ""}` || error.message;
  }
}

const installedVersion = (name) => JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;

export async function packedConsumerWorker(sessionServiceWorkerName) {
  const scratch = mkdtempSync(join(tmpdir(), "edge-sessions-consumer-"));
  try {
    const packed = await step("npm pack", "npm", ["pack", "--json", "--pack-destination", scratch], join(ROOT, "consumer"));
    const [{ filename, files }] = JSON.parse(packed.stdout);

    writeFileSync(
      join(scratch, "package.json"),
      JSON.stringify({
        name: "scratch-consumer",
        private: true,
        type: "module",
        // The peers at the versions this repository tests with, so the install is served from npm's cache.
        dependencies: { [PACKAGE]: `file:./${filename}`, hono: installedVersion("hono"), jose: installedVersion("jose") },
      }),
    );
    mkdirSync(join(scratch, "src"));
    writeFileSync(join(scratch, "src", "index.ts"), WORKER);
    await step("npm install", "npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], scratch);

    const [bundler, nodenext] = await Promise.all([typecheck(scratch, "bundler"), typecheck(scratch, "nodenext")]);
    const bundle = await build({
      absWorkingDir: scratch,
      entryPoints: ["src/index.ts"],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      write: false,
      metafile: true,
    });
    // Every module must come from the scratch project: its source and what npm installed there.
    const inputs = Object.keys(bundle.metafile.inputs);
    const foreign = inputs.filter((input) => !input.startsWith("src/") && !input.startsWith("node_modules/"));
    if (foreign.length > 0) throw new Error(`packed consumer: the bundle read files outside its project: ${foreign.join(", ")}`);
    if (!inputs.includes(`node_modules/${PACKAGE}/dist/index.js`))
      throw new Error("packed consumer: the bundle does not use the installed package");

    return {
      worker: {
        name: "packed-consumer",
        modules: [{ type: "ESModule", path: "index.mjs", contents: bundle.outputFiles[0].text }],
        compatibilityDate: "2026-11-01",
        serviceBindings: { SESSIONS: { name: sessionServiceWorkerName, entrypoint: "SessionService" } },
      },
      facts: { files: files.map((file) => file.path).sort(), typecheck: { bundler, nodenext } },
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
