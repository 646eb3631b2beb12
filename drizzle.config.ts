import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes numbered SQL migrations into migrations/, the folder wrangler applies.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
