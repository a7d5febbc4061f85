/**
 * Subscribe first, read second: a change that lands between the two is kept
 * and handed over, so whoever follows a claim or a task (the SSE routes)
 * misses nothing, whichever process makes the change.
 */
/** A subscription and the state read once it was live. */
export interface Watched<T> {
  /** The state read once the subscription was live. */
  readonly current: T;
  /** Hands over the changes seen since subscribing (oldest first), then every later one. */
  listen(listener: (value: T) => void): void;
  stop(): void;
}

export async function subscribeThenRead<T>(
  subscribe: (listener: (value: T) => void) => Promise<() => void>,
  read: () => Promise<T>,
): Promise<Watched<T>> {
  const early: T[] = [];
  let deliver: (value: T) => void = (value) => early.push(value);
  const stop = await subscribe((value) => deliver(value));
  let current: T;
  try {
    current = await read();
  } catch (error) {
    stop();
    throw error;
  }
  return {
    current,
    listen(listener) {
      for (const value of early.splice(0)) listener(value);
      deliver = listener;
    },
    stop,
  };
}
