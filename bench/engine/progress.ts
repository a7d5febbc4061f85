/**
 * A one-line progress bar on stderr, only when stderr is a terminal (a CI log
 * or a pipe gets nothing), redrawn at most five times a second.
 */

export interface Progress {
  update(done: number): void;
  finish(): void;
}

const SILENT: Progress = { update: () => undefined, finish: () => undefined };

export function progressBar(label: string, total: number, enabled: boolean): Progress {
  const stream = process.stderr;
  if (!enabled || !stream.isTTY) return SILENT;
  const started = performance.now();
  const width = 30;
  let drawn = false;
  return {
    update(done) {
      const share = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(share * width);
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? Math.round(done / seconds) : 0;
      stream.write(
        `\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
          `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${rate.toLocaleString("en-US")} req/s  `,
      );
      drawn = true;
    },
    finish() {
      if (drawn) stream.write("\n");
    },
  };
}
