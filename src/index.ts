import { app } from "./app";

export { SessionRegistry } from "./sessions/registry";
export { SessionService } from "./rpc/session-service";
export type { SessionServiceBinding, SessionServiceRpc } from "../consumer/rpc";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
