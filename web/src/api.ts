/**
 * Fetch wrapper: JSON in, JSON out. Every failure becomes an ApiError whose
 * message is readable text (the server's error.message, or a sentence we
 * write), so no screen ever shows raw JSON or nothing at all.
 */
import { signal } from "@preact/signals";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** False after a request could not reach the server; true again after one that did. */
export const reachable = signal(true);

const STATUS_TEXT: Record<number, string> = {
  401: "Please log in first.",
  403: "You are not allowed to do that.",
  404: "That does not exist (yet).",
  413: "That is too large to send.",
  429: "Too many tries. Wait a moment and try again.",
  500: "The server hit a problem. Try again in a moment.",
  502: "The server is restarting. Try again in a moment.",
  503: "The server is not ready yet. Try again in a moment.",
  504: "The server took too long to answer.",
};

export async function api<T = any>(method: string, path: string, body?: unknown, init: { signal?: AbortSignal; raw?: boolean } = {}): Promise<T> {
  let res: Response;
  try {
    const isForm = typeof FormData !== "undefined" && body instanceof FormData;
    res = await fetch(path, {
      method,
      headers: body === undefined || isForm ? { Accept: "application/json" } : { "Content-Type": "application/json", Accept: "application/json" },
      body: body === undefined ? undefined : isForm ? (body as FormData) : typeof body === "string" ? body : JSON.stringify(body),
      credentials: "same-origin",
      signal: init.signal,
    });
  } catch (e) {
    if ((e as Error)?.name === "AbortError") throw e;
    reachable.value = false;
    throw new ApiError(0, "offline", "Cannot reach the server. Check your connection and try again.");
  }
  reachable.value = true;
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && typeof data === "object" ? data.error : null;
    const retry = Number(res.headers.get("retry-after")) || undefined;
    let message = typeof err?.message === "string" && err.message ? err.message : (STATUS_TEXT[res.status] ?? `The server answered ${res.status}.`);
    if (res.status === 429 && retry) message = `${message.replace(/\.$/, "")} (try again in ${retry} s).`;
    throw new ApiError(res.status, typeof err?.code === "string" ? err.code : "http_" + res.status, message, retry);
  }
  if (init.raw) return text as T;
  return data as T;
}

export const get = <T = any>(path: string, signal?: AbortSignal) => api<T>("GET", path, undefined, { signal });
export const post = <T = any>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const put = <T = any>(path: string, body?: unknown) => api<T>("PUT", path, body ?? {});
export const patch = <T = any>(path: string, body?: unknown) => api<T>("PATCH", path, body ?? {});
export const del = <T = any>(path: string) => api<T>("DELETE", path);

export const errorText = (e: unknown) => (e instanceof ApiError ? e.message : e instanceof Error && e.message ? e.message : "Something went wrong.");
