import { setTimeout as sleep } from "node:timers/promises";
import { type CampaignView, describe, readCampaign } from "./api.ts";

/** One read of the campaign's counters. */
export interface Sample {
  /** Epoch ms when the read was sent (so a read "after" an event cannot predate it on the server). */
  at: number;
  issued: number;
  pending: number;
  remaining: number;
}

/**
 * Reads the campaign's counters every few ms while the spike runs and after
 * it, for invariant 1 ("remaining >= 0 whenever it is read") and the settle
 * time. Reads rotate over the targets, so every API instance is asked.
 */
export class CounterSampler {
  readonly samples: Sample[] = [];
  readonly errors: string[] = [];
  readonly #targets: string[];
  readonly #campaignId: string;
  readonly #intervalMs: number;
  #running = false;
  #loop: Promise<void> | undefined;
  #turn = 0;

  constructor(targets: string[], campaignId: string, intervalMs: number) {
    this.#targets = targets;
    this.#campaignId = campaignId;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        await this.read();
        await sleep(this.#intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** One read; recorded, and returned (undefined when it failed). */
  async read(): Promise<CampaignView | undefined> {
    const target = this.#targets[this.#turn++ % this.#targets.length]!;
    try {
      const view = await readCampaign(target, this.#campaignId);
      this.samples.push({
        at: Date.now(),
        issued: view.issued,
        pending: view.pending,
        remaining: view.remaining,
      });
      return view;
    } catch (error) {
      if (this.errors.length < 20) this.errors.push(`${target}: ${describe(error)}`);
      return undefined;
    }
  }

  /** Reads until pending is 0 (the system is quiet) or the deadline passes. */
  async settle(timeoutMs: number): Promise<{ view: CampaignView | undefined; quietAt: number | undefined }> {
    const deadline = Date.now() + timeoutMs;
    let view: CampaignView | undefined;
    for (;;) {
      view = await this.read();
      if (view && view.pending === 0) return { view, quietAt: this.samples.at(-1)!.at };
      if (Date.now() >= deadline) return { view, quietAt: undefined };
      await sleep(this.#intervalMs);
    }
  }
}
