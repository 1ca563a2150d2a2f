// Header: cluster identity, profile, sim clock, connection indicator and simulation controls.

import { setText, setAttr } from "../dom.js";
import { simClockText } from "../k8s/time.js";
import { runAction } from "../actions.js";
import { guard } from "../ui/permissions.js";

export const SPEEDS = [0.25, 0.5, 1, 2, 5, 10, 20, 50];

/** Wire the simulation controls once. */
export function initHeader(root, state) {
  const pause = root.querySelector("#sim-pause");
  pause.addEventListener("click", () => (state.clock.paused ? runAction("sim.resume", {}, "Simulation resumed") : runAction("sim.pause", {}, "Simulation paused")));
  root.querySelector("#sim-step").addEventListener("click", () => runAction("sim.step", {}, "Stepped the simulation"));
  const slider = root.querySelector("#sim-speed");
  slider.max = String(SPEEDS.length - 1);
  slider.addEventListener("input", () => setText(root.querySelector("#sim-speed-value"), `${SPEEDS[slider.value]}×`));
  slider.addEventListener("change", () => runAction("sim.speed", { speed: SPEEDS[slider.value] }, `Speed set to ${SPEEDS[slider.value]}×`));
  const reset = root.querySelector("#sim-reset");
  let armed = null;
  reset.addEventListener("click", () => {
    // Two clicks: a reset throws the whole lesson away.
    if (!armed) {
      reset.classList.add("armed");
      setText(reset, "Confirm reset?");
      armed = setTimeout(() => { armed = null; reset.classList.remove("armed"); setText(reset, "Reset"); }, 4000);
      return;
    }
    clearTimeout(armed); armed = null;
    reset.classList.remove("armed");
    setText(reset, "Reset");
    runAction("sim.reset", {}, "Cluster reset to the demo state");
  });
  for (const id of ["#sim-pause", "#sim-step", "#sim-speed", "#sim-reset"]) guard(root.querySelector(id), "control");
  guard(root.querySelector("#open-apply"), "act");
}

/** Update the header from state (clock, speed, profile) and the connection status. */
export function renderHeader(root, state, connection) {
  setText(root.querySelector("#sim-clock"), simClockText(state.simNow()));
  const c = state.clock;
  const paused = !!c.paused;
  const pause = root.querySelector("#sim-pause");
  setText(pause.querySelector(".label"), paused ? "Resume" : "Pause");
  setText(pause.querySelector(".icon"), paused ? "▶" : "❚❚");
  setAttr(pause, "aria-pressed", paused ? "true" : "false");
  root.querySelector("#clock-box").dataset.paused = paused ? "1" : "";
  const slider = root.querySelector("#sim-speed");
  if (c.speed_lock !== undefined && c.speed_lock !== null) {
    slider.disabled = true;
    slider.title = `The instructor has locked the speed at ${Number(c.speed_lock)}×`;
  } else if (slider.title.startsWith("The instructor has locked")) {
    slider.title = "";
    slider.disabled = false;
    guard(slider, "control");
  }
  if (document.activeElement !== slider && c.speed !== undefined) {
    const idx = SPEEDS.reduce((best, s, i) => (Math.abs(s - c.speed) < Math.abs(SPEEDS[best] - c.speed) ? i : best), 0);
    if (slider.value !== String(idx)) slider.value = String(idx);
    setText(root.querySelector("#sim-speed-value"), `${Number(c.speed)}×`);
  }
  const lag = Number(c.lag) || 0;
  setText(root.querySelector("#sim-lag"), lag > 1 ? `lag ${lag.toFixed(1)} s` : "");
  const p = state.profile || {};
  const name = p.name || (typeof c.profile === "string" ? c.profile : "") || root.dataset.profile || "default";
  setText(root.querySelector("#profile-name"), name);
  const values = p.values && typeof p.values === "object" ? p.values : p;
  const timers = Object.entries(values).filter(([k, v]) => k !== "name" && (typeof v === "number" || typeof v === "string" || Array.isArray(v)))
    .map(([k, v]) => `${k.replace(/_/g, " ")}: ${Array.isArray(v) ? v.join("–") : v}`);
  setAttr(root.querySelector("#profile-badge"), "title", `Profile ${name}${timers.length ? `\n${timers.join("\n")}` : ""}`);
  const conn = root.querySelector("#connection");
  conn.dataset.state = connection;
  const words = { connected: "Live", reconnecting: "Reconnecting…", offline: "Offline", refused: "Refused" };
  setText(conn.querySelector(".conn-text"), words[connection] || "Connecting…");
  setAttr(conn, "aria-label", `Connection: ${connection}`);
  setText(root.querySelector("#rev"), state.revision !== null ? `rv ${state.revision}` : "");
}
