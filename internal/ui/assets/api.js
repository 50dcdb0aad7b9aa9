// The API client: every request goes to the server's own origin (U3) and
// every error is the server's problem+json, shown as the server said it.

export class APIError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || "HTTP " + status);
    this.status = status;
    this.problem = problem || {};
  }
}

const KEY = "sleuth-api-key";
export const apiKey = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (k) => k ? sessionStorage.setItem(KEY, k) : sessionStorage.removeItem(KEY),
};

export async function api(path, { method = "GET", body, accept, signal } = {}) {
  const headers = { Accept: accept || "application/json" };
  const k = apiKey.get();
  if (k) headers["X-API-Key"] = k;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const r = await fetch(path, { method, headers, body: payload, signal, credentials: "omit" });
  const type = r.headers.get("Content-Type") || "";
  if (!r.ok) {
    let p = null;
    if (type.includes("json")) { try { p = await r.json(); } catch { /* keep null */ } }
    throw new APIError(r.status, p);
  }
  if (type.includes("json")) return r.json();
  return r.text();
}
