/**
 * The generator process. It runs apart from `stampede bench`'s main process
 * so that it has a core of its own, its own event loop (no sampler or
 * progress bar competing with it) and its own open-file limit, raised by the
 * shell that launches it (Node cannot call setrlimit).
 */

import { readOpenFileLimit } from "../limits.ts";
import { fire, read } from "./fire.ts";
import type { ToChild, ToParent } from "./protocol.ts";

const send = (message: ToParent) => process.send?.(message);

process.on("message", (message: ToChild) => {
  void (async () => {
    try {
      if (message.kind === "fire") {
        const result = await fire(message.options, (done) =>
          send({ id: message.id, kind: "progress", done }),
        );
        send({ id: message.id, kind: "fired", result });
      } else if (message.kind === "read") {
        send({ id: message.id, kind: "read", result: await read(message.options) });
      } else if (message.kind === "exit") {
        process.disconnect();
      }
    } catch (error) {
      send({ id: message.id, kind: "error", message: (error as Error).stack ?? String(error) });
    }
  })();
});
send({ id: 0, kind: "ready", openFiles: readOpenFileLimit() });
