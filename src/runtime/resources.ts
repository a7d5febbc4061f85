/**
 * Every composition root's teardown, written once. Each resource registers
 * its close the moment it is opened; closing runs them in reverse, so what
 * was opened last (a worker, a periodic loop) stops before what it uses (the
 * ledger, the Redis connections). A start that fails halfway closes exactly
 * what it had opened; a normal close does the same. A close that fails is
 * logged and the rest still run: one stuck client must not keep the files
 * of the others open.
 */

import type { Logger } from "pino";

export class Resources {
  readonly #closers: { name: string; close: () => Promise<void> | void }[] = [];
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Registers `close` under `name` and returns `resource`, for `const x = resources.add(...)`. */
  add<T>(name: string, resource: T, close: (resource: T) => Promise<unknown> | unknown): T {
    this.#closers.push({ name, close: async () => void (await close(resource)) });
    return resource;
  }

  /** Registers a close that is not tied to one object (a flag, a timer). */
  defer(name: string, close: () => Promise<unknown> | unknown): void {
    this.add(name, undefined, close);
  }

  /** Closes everything registered, last first; later calls wait for the first. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const { name, close } of this.#closers.splice(0).reverse()) {
        try {
          await close();
        } catch (error) {
          this.#logger.warn({ err: error, resource: name }, "closing a resource failed; closing the others");
        }
      }
    })();
    return this.#closing;
  }
}

/**
 * Runs `build` with a fresh Resources: when it throws, what it opened is
 * closed (last first) before the error goes on; when it returns, the caller
 * owns the resources and closes them through the runtime it built.
 */
export async function openWith<T>(logger: Logger, build: (resources: Resources) => Promise<T>): Promise<T> {
  const resources = new Resources(logger);
  try {
    return await build(resources);
  } catch (error) {
    await resources.close();
    throw error;
  }
}
