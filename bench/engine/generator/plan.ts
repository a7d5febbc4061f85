/**
 * What the generator fires: one claim per user, plus a share of re-sends
 * (the same user asking again), in a shuffled order so that a re-send may
 * race its original. User ids are derived from the user's index, so the plan
 * is a small typed array rather than a million strings, and the main process
 * can rebuild any user's id.
 */

export interface PlanOptions {
  users: number;
  /** Re-sends as a share of users: 0.1 adds 10% more requests. */
  duplicates: number;
  seed: number;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same plan. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The user index of each request, in firing order. */
export function buildPlan(options: PlanOptions): Int32Array {
  const extra = Math.round(options.users * options.duplicates);
  const plan = new Int32Array(options.users + extra);
  for (let i = 0; i < options.users; i++) plan[i] = i;
  if (extra === 0) return plan;
  const next = random(options.seed);
  for (let i = options.users; i < plan.length; i++) plan[i] = Math.floor(next() * options.users);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = plan[i]!;
    plan[i] = plan[j]!;
    plan[j] = t;
  }
  return plan;
}

/** "u" + the index in base 36, zero-padded to `length` characters. */
export function userId(index: number, length: number): string {
  const digits = index.toString(36);
  if (digits.length + 1 > length)
    throw new RangeError(`user ids of ${length} characters cannot hold ${index}`);
  return `u${digits.padStart(length - 1, "0")}`;
}

/** The shortest user-id length that fits `users` distinct ids. */
export function minUserIdLength(users: number): number {
  return Math.max(users - 1, 1).toString(36).length + 1;
}

/** The bytes of one claim request (ids are ASCII, so length = byte length). */
export function claimRequest(host: string, path: string, user: string, idempotencyKey?: string): string {
  const body = `{"userId":"${user}"}`;
  const key = idempotencyKey === undefined ? "" : `idempotency-key: ${idempotencyKey}\r\n`;
  return (
    `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
    `content-length: ${body.length}\r\n${key}\r\n${body}`
  );
}

/** The bytes of one GET (claim reads, user-claim reads). */
export function getRequest(host: string, path: string, headers: Record<string, string> = {}): string {
  let extra = "";
  for (const [name, value] of Object.entries(headers)) extra += `${name}: ${value}\r\n`;
  return `GET ${path} HTTP/1.1\r\nhost: ${host}\r\n${extra}\r\n`;
}
