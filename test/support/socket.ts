import { exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { ORIGIN } from "./http";
import { held } from "./openapi";

/** Asks for the live channel the way a browser does: the token as a subprotocol entry. */
export async function upgrade(accessToken: string, protocols = `sessions.v1, bearer.${accessToken}`) {
  const request = new Request(`${ORIGIN}/v1/sessions/live`, { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": protocols } });
  return held(request, await exports.default.fetch(request));
}

/** A connected test client: every frame and the close, in order, awaitable. */
export interface LiveClient {
  socket: WebSocket;
  next(timeoutMs?: number): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
  received: any[];
}

export async function connect(accessToken: string): Promise<LiveClient> {
  const response = await upgrade(accessToken);
  if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade refused: ${response.status}`);
  const socket = response.webSocket;
  socket.accept();
  const received: any[] = [];
  const waiting: Array<(frame: any) => void> = [];
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data as string);
    received.push(frame);
    waiting.shift()?.(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
  );
  let read = 0;
  const next = (timeoutMs = 2000) =>
    new Promise<any>((resolve, reject) => {
      if (read < received.length) return resolve(received[read++]);
      const timer = setTimeout(() => reject(new Error("no frame arrived")), timeoutMs);
      waiting.push((frame) => {
        clearTimeout(timer);
        read++;
        resolve(frame);
      });
    });
  return { socket, next, closed, received };
}

export function within<T>(promise: Promise<T>, ms = 2000): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms))]);
}

/** Re-authenticates a socket with an access token: the `authenticate` frame of docs/live.md. */
export function authenticate(client: LiveClient, accessToken: string): void {
  client.socket.send(JSON.stringify({ type: "authenticate", access_token: accessToken }));
}

/** When an access token expires (its `exp`, in milliseconds): the deadline of a socket it opens. */
export function tokenExpiresAt(accessToken: string): number {
  return decodeJwt(accessToken).exp! * 1000;
}
