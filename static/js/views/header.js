// Header: cluster identity, profile, sim clock, connection indicator and simulation controls.

import { setText, setAttr } from "../dom.js";
import { simClockText } from "../k8s/time.js";
import { runAction } from "../actions.js";
import { guard, whyNot } from "../ui/permissions.js";

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
  // One visible sentence for the disabled controls (both kinds say the same for today's roles).
  const why = [...new Set([whyNot("control"), whyNot("act")].filter(Boolean))].join(" ");
  const note = root.querySelector("#role-note");
  note.textContent = why;
  note.hidden = !why;
}

/**
 * The speed slider: locked by the instructor (clock.speed_lock: disabled, and a visible note saying
 * at what speed), else as the role allows.
 */
function renderSpeedLock(root, lock) {
  const slider = root.querySelector("#sim-speed");
  const note = root.querySelector("#speed-lock-note");
  const locked = lock !== undefined && lock !== null;
  if (slider.__locked === locked && slider.__lock === lock) return;
  slider.__locked = locked;
  slider.__lock = lock;
  if (locked) {
    const text = `the instructor has locked the speed at ${Number(lock)}×`;
    slider.disabled = true;
    slider.title = `${text[0].toUpperCase()}${text.slice(1)}`;
    slider.classList.add("not-allowed");
    note.textContent = text;
    note.hidden = false;
  } else {
    slider.disabled = false;
    slider.title = "";
    slider.classList.remove("not-allowed");
    slider.removeAttribute("aria-disabled");
    guard(slider, "control");
    note.textContent = "";
    note.hidden = true;
  }
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
  renderSpeedLock(root, c.speed_lock);
  const slider = root.querySelector("#sim-speed");
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
