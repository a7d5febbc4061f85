/**
 * A steady flow of claims for lifecycle tests: `lanes` clients each claim
 * back to back for distinct users until `users` are used up or `done()`,
 * recording when each request left and when its answer came back, so a test
 * can tell what was sent after a change took effect.
 */
export interface Timed<R> {
  userId: string;
  reply: R;
  sentAt: number;
  answeredAt: number;
}

export async function steadyClaims<R>(
  send: (userId: string, index: number) => Promise<R>,
  options: {
    users: number;
    lanes: number;
    done?: () => boolean;
    onAnswer?: (answer: Timed<R>) => void;
  },
): Promise<Timed<R>[]> {
  const answers: Timed<R>[] = [];
  let next = 0;
  const done = options.done ?? (() => false);
  await Promise.all(
    Array.from({ length: options.lanes }, async () => {
      while (next < options.users && !done()) {
        const index = next++;
        const userId = `user-${index}`;
        const sentAt = performance.now();
        const reply = await send(userId, index);
        const timed = { userId, reply, sentAt, answeredAt: performance.now() };
        answers.push(timed);
        options.onAnswer?.(timed);
      }
    }),
  );
  return answers;
}
