import net from "node:net";

/**
 * Sends raw bytes over a fresh TCP connection and reads until the server
 * closes it (or the timeout). For requests an HTTP client would refuse to
 * send: malformed lines, invalid header bytes, oversized heads.
 */
export interface RawAnswer {
  /** 0 when no status line came back. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Set when the connection failed or timed out before a status line. */
  error?: string;
}

export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = "timeout";
      socket.destroy();
    }, timeoutMs);
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", (e) => {
      error ??= e.message;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ ...parse(Buffer.concat(chunks).toString("utf8")), ...(error ? { error } : {}) });
    });
    socket.write(bytes);
  });
}

function parse(text: string): Omit<RawAnswer, "error"> {
  const end = text.indexOf("\r\n\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (!match || end === -1) return { status: 0, headers: {}, body: text };
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, end).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(end + 4);
  if (headers["transfer-encoding"] === "chunked") body = unchunk(body);
  else if (headers["content-length"] !== undefined)
    body = Buffer.from(body).subarray(0, Number(headers["content-length"])).toString("utf8");
  return { status: Number(match[1]), headers, body };
}

function unchunk(text: string): string {
  let out = "";
  let rest = text;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    if (eol === -1) return out;
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
