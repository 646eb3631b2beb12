import type { Context } from "hono";
import type { AppEnv } from "../env";

/**
 * The same response, with a body that runs `sent` (after the answer, through waitUntil) once the
 * runtime has read all of it to send it: the closest a Worker comes to knowing its answer left.
 * A process that dies first never runs it, which is what a sign-in needs to tell apart
 * (docs/storage-schema.md, "Crash consistency").
 */
export function onceSent<R extends Response>(c: Context<AppEnv>, response: R, sent: () => Promise<unknown>): R {
  const source = response.body;
  if (source === null) {
    c.executionCtx.waitUntil(sent());
    return response;
  }
  const reader = source.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        controller.close();
        c.executionCtx.waitUntil(sent());
      },
      cancel: (reason) => reader.cancel(reason),
    },
    // Nothing is read ahead: the last read comes only once the runtime has taken every byte before it.
    { highWaterMark: 0 },
  );
  return new Response(body, response) as R;
}
