/**
 * Closes a Kafka client without waiting forever. Seen in this project's
 * tests (about one run in five, before batch-consumer.ts destroyed its
 * stream first): a consumer's close() waiting for its message stream to end,
 * which never happened, so the process could neither finish its shutdown
 * nor exit. Past `ms`, the client is left behind.
 */
export async function closeClient(
  client: { close(force?: boolean): Promise<void> },
  force = false,
  ms = 5000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.close(force).catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
