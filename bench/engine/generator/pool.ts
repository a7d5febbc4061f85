import { Connection } from "./connection.ts";

/**
 * The connections to one target, at most `max` of them. acquire() hands out
 * an idle one, opens a new one while under the cap, else waits its turn
 * (first come, first served). Idle connections are reused (keep-alive).
 */
export class Pool {
  readonly host: string;
  readonly port: number;
  readonly #max: number;
  readonly #all = new Set<Connection>();
  readonly #idle: Connection[] = [];
  readonly #waiting: ((c: Connection) => void)[] = [];
  opened = 0;

  constructor(target: URL, max: number) {
    this.host = target.hostname;
    this.port = Number(target.port || 80);
    this.#max = max;
  }

  acquire(): Connection | Promise<Connection> {
    while (this.#idle.length > 0) {
      const connection = this.#idle.pop()!;
      if (!connection.dead) return connection;
      this.#all.delete(connection);
    }
    if (this.#all.size < this.#max) return this.#open();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(connection: Connection): void {
    if (connection.dead) {
      this.#all.delete(connection);
      // A waiter gets a fresh connection in place of the dead one.
      const waiter = this.#waiting.shift();
      if (waiter) waiter(this.#open());
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter) waiter(connection);
    else this.#idle.push(connection);
  }

  /** Aborts requests in flight for longer than timeoutMs. */
  sweep(now: number, timeoutMs: number): void {
    for (const connection of this.#all) {
      if (connection.busySince > 0 && now - connection.busySince > timeoutMs)
        connection.abort("ETIMEDOUT", `no answer within ${timeoutMs} ms`);
    }
  }

  get size(): number {
    return this.#all.size;
  }

  closeAll(): void {
    for (const connection of this.#all) connection.close();
    this.#all.clear();
    this.#idle.length = 0;
  }

  #open(): Connection {
    const connection = new Connection(this.host, this.port);
    this.#all.add(connection);
    this.opened++;
    return connection;
  }
}
