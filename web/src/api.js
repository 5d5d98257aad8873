// The coach API from the page: the bearer token kept for this tab, every failure an
// ApiError carrying the API's error code, message and field.

const TOKEN_KEY = "coach.token";

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function signedIn() {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function authorization() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function failure(status, data, fallback) {
  if (status === 401) setToken(null); // the token expired or was revoked: sign in again
  const error = data?.error ?? {};
  return new ApiError(status, error.code ?? `http_${status}`, error.message ?? fallback, error.field);
}

/** Call ``/v1${path}``; ``json`` is sent as a JSON body, ``form`` (FormData or
 * URLSearchParams) as a form. Answers the parsed JSON, or null for 204. */
export async function api(path, { method = "GET", json, form } = {}) {
  const headers = authorization();
  let body = form;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(`/v1${path}`, { method, headers, body });
  } catch {
    throw new ApiError(0, "network", "The coach service cannot be reached; check the connection.");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw failure(response.status, data, response.statusText);
  return data;
}

/** POST a multipart ``form`` (a video) to ``/v1${path}``, reporting the share sent so
 * far to ``onProgress`` (0-1): fetch cannot tell upload progress, XMLHttpRequest can. */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/v1${path}`);
    for (const [name, value] of Object.entries(authorization())) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        // not JSON: the status says enough
      }
      if (request.status >= 200 && request.status < 300) resolve(data);
      else reject(failure(request.status, data, request.statusText));
    });
    request.addEventListener("error", () =>
      reject(new ApiError(0, "network", "The upload failed; check the connection.")),
    );
    request.send(form);
  });
}

/** GET ``/v1${path}`` as a Blob: a kept video for a <video> element, which cannot send
 * the bearer header itself (the API caps a video at COACH_VIDEO_MAX_BYTES). */
export async function apiBlob(path) {
  let response;
  try {
    response = await fetch(`/v1${path}`, { headers: authorization() });
  } catch {
    throw new ApiError(0, "network", "The coach service cannot be reached; check the connection.");
  }
  if (!response.ok) throw failure(response.status, await response.json().catch(() => null), response.statusText);
  return response.blob();
}
