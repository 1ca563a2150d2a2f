// The live connection: Socket.IO namespace "/live" over WebSocket, snapshot + deltas, actions with acks.

/* global io */

import { perms } from "./ui/permissions.js";

/**
 * Connect to /live and keep `state` in sync. onStatus(status) receives "connected",
 * "reconnecting" or "offline"; onDrill(status) receives the drill's status. Returns {action(type, args) -> Promise<ack>}.
 */
export function connectLive(state, { onStatus = () => {}, onResync = () => {}, onDrill = () => {} } = {}) {
  if (typeof io !== "function") {
    onStatus("offline");
    return { action: async () => ({ ok: false, error: { message: "Socket.IO client failed to load" } }) };
  }
  const socket = io("/live", {
    auth: { cluster: perms.cluster },   // the connection watches this page's cluster (webapp.live)
    transports: ["websocket"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
  });
  let attempts = 0;

  const subscribe = () => socket.emit("subscribe", state.synced ? { since: state.revision, generation: state.generation } : { since: null });

  socket.on("connect", () => {
    attempts = 0;
    onStatus("connected");
    subscribe();
  });
  socket.on("disconnect", (reason) => {
    onStatus("reconnecting");
    // The server closed our namespace on purpose (e.g. shutting down): socket.io does not retry
    // that by itself, but a restarted simulator should find us again.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", (err) => {
    // Refused by the server (no session, another student's cluster, no such cluster): say why, stop retrying.
    const status = err && err.data;
    // Socket.IO gives a refused socket up by itself (socket.active turns false); the manager's own
    // reconnection is switched off too, so nothing keeps knocking.
    if (status && status.kind === "Status") {
      socket.io.reconnection(false);
      onStatus("refused", status.message || err.message);
      return;
    }
    onStatus(attempts >= 4 ? "offline" : "reconnecting");
  });
  socket.io.on("reconnect_attempt", (n) => {
    attempts = n;
    onStatus(n >= 5 ? "offline" : "reconnecting");
  });

  socket.on("snapshot", (snap) => state.applySnapshot(snap));
  socket.on("delta", (d) => {
    if (!state.applyDelta(d)) {
      // A gap or a new cluster generation: ask again from what we have; the server answers
      // with the missing changes or a resync + snapshot.
      if (d.generation !== undefined && state.generation !== null && d.generation !== state.generation) state.drop();
      subscribe();
    }
  });
  socket.on("resync", (r) => {
    state.drop();
    onResync(r || {});
  });
  socket.on("clock", (c) => state.setClock(c));
  socket.on("drill", (d) => onDrill(d || { active: false }));
  // Messages sent without an ack were dropped by the server's rate limit (a TooManyRequests Status).
  socket.on("notice", (status) => console.warn("kubedrill:", (status && status.message) || status));

  window.addEventListener("offline", () => onStatus("offline"));

  return {
    socket,
    /** Send an action; resolves with the ack {ok, result} | {ok:false, error}. */
    action(type, args = {}) {
      return new Promise((resolve) => {
        if (!socket.connected) {
          resolve({ ok: false, error: { message: "Not connected to the simulator: the action was not sent.", reason: "ServiceUnavailable", code: 503 } });
          return;
        }
        socket.timeout(15000).emit("action", { type, args }, (err, ack) => {
          if (err) resolve({ ok: false, error: { message: `No answer from the simulator for ${type}`, reason: "Timeout", code: 504 } });
          else resolve(ack || { ok: false, error: { message: "empty acknowledgement" } });
        });
      });
    },
  };
}
