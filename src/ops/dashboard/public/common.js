// Shared by the dashboard pages: the admin token, JSON calls, and an SSE reader.

const TOKEN_KEY = "stampede.adminToken";

/** The admin token lives in this tab's sessionStorage: gone when the tab closes, never in a URL. */
export const adminToken = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? "",
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Calls the API; resolves with the status and the parsed body (never throws on HTTP errors). */
export async function api(path, { method = "GET", body, admin = false, headers = {} } = {}) {
  const all = { accept: "application/json", ...headers };
  if (body !== undefined) all["content-type"] = "application/json";
  if (admin) all.authorization = `Bearer ${adminToken.get()}`;
  const res = await fetch(path, {
    method,
    headers: all,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    // an empty or non-JSON body
  }
  return { status: res.status, data };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads an admin Server-Sent Events stream with fetch(), because EventSource
 * cannot send an Authorization header and the token must not go in the URL.
 * Reconnects with backoff until stop(); calls handlers.unauthorized on 401.
 */
export function adminStream(path, handlers) {
  let stopped = false;
  let controller;
  const run = async () => {
    let delay = 500;
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(path, {
          headers: { authorization: `Bearer ${adminToken.get()}`, accept: "text/event-stream" },
          signal: controller.signal,
          cache: "no-store",
        });
        if (res.status === 401) {
          handlers.unauthorized?.();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        handlers.open?.();
        delay = 500;
        await readEvents(res.body, handlers.event);
      } catch {
        if (stopped) return;
      }
      handlers.closed?.();
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  };
  run();
  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onEvent?.(event, JSON.parse(data.join("\n")));
      end = buffer.indexOf("\n\n");
    }
  }
}

/** Creates an element with text content and attributes (no innerHTML anywhere: no injection). */
export function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

export const fmt = new Intl.NumberFormat("en");

export function bytes(n) {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}
