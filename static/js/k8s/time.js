// Time helpers: RFC 3339 timestamps of the simulation, durations in kubectl's style.

/** The engine's simulated epoch (engine/clock.py EPOCH_SECONDS, 2026-01-01T00:00:00Z). */
export const EPOCH_SECONDS = 1767225600;

/** Parse an RFC 3339 timestamp into Unix seconds, or NaN. */
export function parseTime(text) {
  if (!text) return NaN;
  return Date.parse(text) / 1000;
}

/** Format seconds like kubectl's short durations: 45s, 3m12s, 2h5m, 3d. */
export function shortDuration(seconds) {
  if (!Number.isFinite(seconds)) return "?";
  let s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs}h${m % 60 ? `${m % 60}m` : ""}`;
  return `${Math.floor(hrs / 24)}d`;
}

/** Format seconds as m:ss (countdowns). */
export function countdown(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// When the cluster was created (Unix seconds): the sim clock shows time elapsed since then. Clusters
// started by the app begin at the wall-clock date, so absolute times would read like a time of day.
let simStart = EPOCH_SECONDS;

/** Set the cluster's start (engine clock state ``started``: simulated seconds after the epoch). */
export function setSimStart(startedSimSeconds) {
  if (Number.isFinite(startedSimSeconds)) simStart = EPOCH_SECONDS + startedSimSeconds;
}

/** Seconds since the cluster started for Unix seconds of the simulation (may be negative). */
export function elapsedSeconds(unixSeconds) {
  return unixSeconds - simStart;
}

/** Format Unix seconds of the simulation as time since the cluster started: 00:12:34 or 1d 02:03:04. */
export function simClockText(unixSeconds) {
  const t = Math.max(0, Math.floor(unixSeconds - simStart));
  const d = Math.floor(t / 86400);
  const hh = String(Math.floor((t % 86400) / 3600)).padStart(2, "0");
  const mm = String(Math.floor((t % 3600) / 60)).padStart(2, "0");
  const ss = String(t % 60).padStart(2, "0");
  return `${d ? `${d}d ` : ""}${hh}:${mm}:${ss}`;
}

/** Parse a Go duration such as "1m20s", "40s", "5m0s" into seconds, or NaN. */
export function parseGoDuration(text) {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$/.exec(text || "");
  if (!m || !(m[1] || m[2] || m[3])) return NaN;
  return (Number(m[1] || 0) * 3600) + (Number(m[2] || 0) * 60) + Number(m[3] || 0);
}
