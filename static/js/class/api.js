// JSON calls to the class endpoints (webapp/classroom/routes.py). Their errors are Kubernetes
// Status objects: a failed call throws an ApiError carrying the Status's message, code and causes.

export class ApiError extends Error {
  constructor(status, httpStatus, headers) {
    super(status.message || status.reason || `The server answered ${httpStatus}.`);
    this.status = status;
    this.code = status.code || httpStatus;
    this.causes = (status.details && status.details.causes) || [];
    this.retryAfter = headers ? headers.get("Retry-After") : null;
  }
}

async function call(method, path, body) {
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers: body === undefined ? { Accept: "application/json" } : { "Content-Type": "application/json", Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError({ message: `Could not reach the server: ${err.message}`, reason: "ServiceUnavailable", code: 0 }, 0);
  }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiError(data && typeof data === "object" ? data : {}, resp.status, resp.headers);
  return { data, status: resp.status };
}

/** GET a JSON document; resolves with its body. */
export const getJSON = async (path) => (await call("GET", path)).data;

/** POST a JSON body; resolves with {data, status} (a join answers 201, a re-join 200). */
export const postJSON = (path, body = {}) => call("POST", path, body);
