/**
 * A Server-Sent Events reader over fetch, for browsers and Node alike (the
 * browser's EventSource cannot send an Authorization header, and Node has
 * none). parseEvents follows the HTML standard's parsing rules: lines end in
 * CRLF, LF or CR; `data` lines join with LF; a blank line dispatches; lines
 * starting with ":" are comments (stampede's heartbeats).
 */

export interface SseEvent {
  /** The `event:` field, "message" when absent. */
  event: string;
  data: string;
  id?: string;
}

export interface ParseHooks {
  /** Called for every chunk read, heartbeats included. */
  activity?: () => void;
  /** Called with a `retry:` field: the reconnection delay the server asks for, in ms. */
  retry?: (ms: number) => void;
}

/** Yields the events of a stream. */
export async function* parseEvents(
  stream: ReadableStream<Uint8Array>,
  hooks: ParseHooks = {},
): AsyncGenerator<SseEvent> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let first = true;
  let type = "";
  let data: string[] = [];
  let id: string | undefined;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return; // an event without its blank line is dropped, as the standard says
      hooks.activity?.();
      buffer += decoder.decode(value, { stream: true });
      if (first && buffer.length > 0) {
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
        first = false;
      }
      for (;;) {
        const end = /\r\n|\r|\n/.exec(buffer);
        // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
        if (!end || (end[0] === "\r" && end.index === buffer.length - 1)) break;
        const line = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        if (line === "") {
          if (data.length > 0) {
            const event: SseEvent = { event: type || "message", data: data.join("\n") };
            if (id !== undefined) event.id = id;
            yield event;
          }
          type = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let text = colon === -1 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (field === "data") data.push(text);
        else if (field === "event") type = text;
        else if (field === "id" && !text.includes("\u0000")) id = text;
        else if (field === "retry" && /^\d+$/.test(text)) hooks.retry?.(Number(text));
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
