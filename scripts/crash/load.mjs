// The load: a mix of what devices do, and bursts of one kind of call to crash in the middle of.
//
// One call at a time per user in the mix (a user's calls then have one order, and each answer
// says exactly which sessions it ended); many users at once. A burst fires calls that commute
// (distinct sessions' refreshes, distinct targets' revocations, one password change per user).

const MAX_USERS = 30;
const SESSIONS_PER_USER = 6;

/** Keeps `workers` calls in flight until `stop()`; resolves when the last one has settled. */
export function mixedLoad(clients, workers) {
  let stopped = false;
  const rng = clients.rng;
  const step = async () => {
    const idle = clients.users.filter((u) => !u.busy && u.pendingPassword === null);
    if (idle.length === 0 || (rng.next() < 0.02 && clients.users.length < MAX_USERS)) {
      await clients.signUp();
      return;
    }
    const user = rng.pick(idle);
    user.busy = true;
    try {
      await userStep(clients, user);
    } finally {
      user.busy = false;
    }
  };
  const worker = async () => {
    while (!stopped) await step();
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return {
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

async function userStep(clients, user) {
  const rng = clients.rng;
  const live = user.live();
  if (live.length === 0) {
    await clients.logIn(user);
    return;
  }
  const me = rng.pick(live);
  const others = live.filter((s) => s !== me);
  const choices = [
    [40, () => clients.refresh(me)],
    [10, () => clients.list(me)],
    [live.length < SESSIONS_PER_USER ? 12 : 0, () => clients.logIn(user)],
    [others.length > 0 ? 10 : 0, () => clients.revokeOther(me, rng.pick(others))],
    [live.length > 1 ? 5 : 0, () => clients.logout(me)],
    [others.length > 1 ? 3 : 0, () => clients.revokeMany(me, false)],
    [live.length > 2 ? 2 : 0, () => clients.revokeMany(me, true)],
    [3, () => clients.changePassword(me)],
  ];
  const total = choices.reduce((sum, [w]) => sum + w, 0);
  let roll = rng.next() * total;
  for (const [weight, run] of choices) {
    if ((roll -= weight) < 0) {
      await run();
      return;
    }
  }
}

/** Signs users in until at least `sessions` are live, `min` per user, a few logins at a time. */
export async function topUp(clients, { sessions, min = 3, users = 8 }) {
  while (clients.users.length < users) if (!(await clients.signUp())) break;
  const wanted = () => clients.users.filter((u) => u.pendingPassword === null && u.live().length < Math.max(min, 1));
  for (let round = 0; round < 40; round++) {
    const total = clients.users.reduce((n, u) => n + u.live().length, 0);
    const short = wanted();
    if (total >= sessions && short.length === 0) return;
    const batch = (short.length > 0 ? short : clients.users).slice(0, 4);
    await Promise.all(batch.map((u) => clients.logIn(u)));
  }
}

/**
 * The calls of one targeted burst, not yet started: each is a function that starts one call.
 * `kind` is revocations | refreshes | passwords | signups | logins. `watch`: sessions that stay
 * live through the burst and are told on their live channel when one of the others is revoked.
 */
export function burst(clients, kind) {
  const users = clients.users.filter((u) => u.pendingPassword === null && u.live().length > 0);
  const calls = [];
  const watch = [];
  if (kind === "revocations") {
    // Every user's first live session signs its other devices out, one DELETE each; some users
    // use logout-others instead, and some devices sign themselves out.
    for (const user of users) {
      const [caller, ...others] = user.live();
      if (others.length === 0) continue;
      watch.push(caller);
      if (clients.rng.next() < 0.2) calls.push(() => clients.revokeMany(caller, false));
      else
        for (const target of others) {
          calls.push(clients.rng.next() < 0.2 ? () => clients.logout(target) : () => clients.revokeOther(caller, target));
        }
    }
  } else if (kind === "refreshes") {
    for (const user of users) for (const s of user.live()) calls.push(() => clients.refresh(s));
  } else if (kind === "passwords") {
    for (const user of users.filter((u) => u.live().length > 1).slice(0, 6)) {
      const caller = user.live()[0];
      calls.push(() => clients.changePassword(caller));
      watch.push(caller);
    }
  } else if (kind === "signups") {
    for (let i = 0; i < 8; i++) calls.push(() => clients.signUp());
  } else if (kind === "logins") {
    for (const user of users.slice(0, 6)) for (let i = 0; i < 2; i++) calls.push(() => clients.logIn(user));
  }
  return { calls: calls.slice(0, 40), watch: watch.slice(0, 40) };
}

/**
 * Opens the live channel (docs/live.md) of each of `sessions`; `seen` resolves at the first
 * `session_revoked` frame, which the registry sends from inside the revoking call, before the rest
 * of that call (its D1 write, a password change's later steps) has run.
 */
export async function liveWatch(clients, sessions) {
  let onSeen;
  const seen = new Promise((resolve) => {
    onSeen = resolve;
  });
  const url = `${clients.base.replace(/^http/, "ws")}/v1/sessions/live`;
  const sockets = [];
  let opened = 0;
  await Promise.all(
    sessions.map(
      (session) =>
        new Promise((resolve) => {
          const socket = new WebSocket(url, ["sessions.v1", `bearer.${session.access}`]);
          sockets.push(socket);
          const timer = setTimeout(resolve, 5000);
          socket.onopen = () => {
            opened++;
            clearTimeout(timer);
            resolve();
          };
          socket.onerror = () => {
            clearTimeout(timer);
            resolve();
          };
          socket.onmessage = (event) => {
            try {
              if (JSON.parse(String(event.data)).type === "session_revoked") onSeen();
            } catch {}
          };
        }),
    ),
  );
  return {
    seen,
    opened,
    close: () => {
      for (const socket of sockets) {
        try {
          socket.close();
        } catch {}
      }
    },
  };
}

/** What a burst needs live before it starts. */
export const BURST_NEEDS = {
  revocations: { sessions: 32, min: 4 },
  refreshes: { sessions: 30, min: 2 },
  passwords: { sessions: 18, min: 3 },
  signups: { sessions: 0, min: 1 },
  logins: { sessions: 0, min: 1 },
};

/** The calls' latency kind, for choosing when to kill. */
export const BURST_LATENCY = { revocations: "revoke", refreshes: "refresh", passwords: "password", signups: "signup", logins: "login" };
