import base from "./vitest.config";

/**
 * The real config (the Cloudflare pool, its bindings and migrations), narrowed to the test files
 * of the modules under mutation (`npm run mutation`, scripts/mutation.mjs). A list rather than
 * vitest's `related`: most tests reach the code through `exports.default.fetch`, not a static
 * import, so `related` finds almost none of them.
 */
const files = process.env.MUTATION_TESTS?.split(",").filter(Boolean);
if (!files?.length) throw new Error("MUTATION_TESTS is not set: run `npm run mutation`, which sets it per module group");

type ConfigFunction = Extract<typeof base, (env: never) => unknown>;
export default async (env: Parameters<ConfigFunction>[0]) => {
  const config = await (base as ConfigFunction)(env);
  return { ...config, test: { ...config.test, include: files } };
};
