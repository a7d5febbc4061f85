import { Journal, type JournalOptions } from "../journal/journal.ts";

/**
 * The embedded mode's durable record of the answers given to requests with
 * an Idempotency-Key, other than 202 (a 202's key travels with its claim, in
 * the claims journal and then the ledger): 409, 403 and 410, so that a repeat
 * after a restart is answered what the first request was, for
 * IDEMPOTENCY_TTL_S (SPEC "Claims").
 *
 * A record is appended to a journal of its own (DATA_DIR/idempotency, group
 * commit, the same fsync as an admission) and the answer waits for it, as a
 * 202 waits for its claim; a request without a key never touches it. The
 * record holds a hash of (campaign, user, key), not the userId or the key, so
 * the file keeps nothing erasure would have to find. A record is
 * acknowledged once its retention has passed, and the journal deletes a
 * segment (sealed at `segmentBytes`) once all its records are.
 */
export interface KeyedAnswer {
  /** hash of (campaignId, userId, key): see answerHash in keyed-answers.ts. */
  h: string;
  /** C: already claimed (v = the claim id); N: not active (v = the reason); S: sold out. */
  a: "C" | "N" | "S";
  v?: string;
  /** When it was answered (epoch ms). */
  t: number;
}

export interface AnswerLogOptions {
  /** How long an answer is kept (IDEMPOTENCY_TTL_S in ms). */
  ttlMs: number;
  journal?: JournalOptions;
  now?: () => number;
  /** How often expired records are acknowledged. */
  sweepIntervalMs?: number;
}

/** Records of one second of retention end: a run of sequence numbers. */
interface Expiry {
  at: number;
  from: number;
  to: number;
}

const SEGMENT_BYTES = 4 * 1024 * 1024;

export class AnswerLog {
  readonly #journal: Journal;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #expiries: Expiry[] = [];
  readonly #timer: NodeJS.Timeout;

  private constructor(journal: Journal, options: AnswerLogOptions) {
    this.#journal = journal;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => void this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.#timer.unref();
  }

  /** Opens the log in `dir`; resolves with it and the answers still within their retention, oldest first. */
  static async open(
    dir: string,
    options: AnswerLogOptions,
  ): Promise<{ log: AnswerLog; answers: KeyedAnswer[] }> {
    const { journal, records } = await Journal.open(dir, { segmentBytes: SEGMENT_BYTES, ...options.journal });
    const log = new AnswerLog(journal, options);
    const answers: KeyedAnswer[] = [];
    for (const record of records) {
      const answer = record.value as KeyedAnswer;
      log.#expire(record.seq, answer.t);
      answers.push(answer);
    }
    await log.sweep();
    const now = log.#now();
    return { log, answers: answers.filter((a) => a.t + log.#ttlMs > now) };
  }

  /** Resolves once the answer is on disk; rejects when the journal failed (it then takes no more). */
  async append(answer: KeyedAnswer): Promise<void> {
    const [seq] = await this.#journal.append([answer]);
    this.#expire(seq!, answer.t);
  }

  #expire(seq: number, answeredAt: number): void {
    const at = Math.ceil((answeredAt + this.#ttlMs) / 1000) * 1000;
    const last = this.#expiries.at(-1);
    if (last && last.at === at && last.to === seq - 1) last.to = seq;
    else this.#expiries.push({ at, from: seq, to: seq });
  }

  /** Acknowledges the records whose retention has passed; their segments go once all of theirs are. */
  async sweep(): Promise<void> {
    const now = this.#now();
    const seqs: number[] = [];
    while (this.#expiries.length > 0 && this.#expiries[0]!.at <= now) {
      const { from, to } = this.#expiries.shift()!;
      for (let seq = from; seq <= to; seq++) seqs.push(seq);
    }
    if (seqs.length > 0) await this.#journal.ack(seqs);
  }

  get failure(): Error | undefined {
    return this.#journal.failure;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#journal.close();
  }
}
