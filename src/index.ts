import { app } from "./app";

export { SessionRegistry } from "./sessions/registry";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
