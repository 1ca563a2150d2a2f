// Resource quantities (Kubernetes resource.Quantity) to numbers: CPU in cores, memory in bytes.

const SUFFIX = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** Parse a quantity string ("250m", "1.5", "256Mi", "1e3") into a number, or 0. */
export function parseQuantity(q) {
  if (q === undefined || q === null) return 0;
  if (typeof q === "number") return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(String(q).trim());
  if (!m || !(m[2] in SUFFIX)) return 0;
  return Number(m[1]) * SUFFIX[m[2]];
}

/** Format cores: 0.25 -> "250m", 2 -> "2". */
export function formatCpu(cores) {
  if (cores < 1) return `${Math.round(cores * 1000)}m`;
  return `${Math.round(cores * 100) / 100}`;
}

/** Format bytes with binary suffixes: 268435456 -> "256Mi". */
export function formatBytes(bytes) {
  const units = [["Ti", 2 ** 40], ["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]];
  for (const [u, n] of units) if (bytes >= n) return `${Math.round((bytes / n) * 10) / 10}${u}`;
  return `${Math.round(bytes)}`;
}

/** Sum the effective requests of a pod (containers summed, init containers max, like the scheduler). */
export function podRequests(pod) {
  const spec = pod.spec || {};
  const sum = { cpu: 0, memory: 0 };
  for (const c of spec.containers || []) {
    const r = c.resources?.requests || c.resources?.limits || {};
    sum.cpu += parseQuantity(r.cpu);
    sum.memory += parseQuantity(r.memory);
  }
  for (const c of spec.initContainers || []) {
    const r = c.resources?.requests || c.resources?.limits || {};
    sum.cpu = Math.max(sum.cpu, parseQuantity(r.cpu));
    sum.memory = Math.max(sum.memory, parseQuantity(r.memory));
  }
  return sum;
}
