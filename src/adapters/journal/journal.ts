import type { FileHandle } from "node:fs/promises";
import { mkdir, open, readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * An append-only journal with group commit: the embedded mode's durability.
 *
 * append() resolves only after the record's bytes are written AND fsync'ed.
 * Appends that arrive while a flush is under way wait for the next one, so a
 * spike of N admissions costs a handful of fsyncs, not N.
 *
 * Records live in numbered segment files. A segment is deleted once it is
 * sealed (a newer one receives appends) and every record in it was
 * acknowledged, i.e. its claims are in the ledger. Acknowledgements are not
 * written down: after a crash every record of a surviving segment is replayed,
 * and the ledger's unique keys make the replay harmless.
 */
export interface JournalOptions {
  /** Makes written bytes durable. Injected by tests to delay or count fsyncs. */
  sync?: (file: FileHandle) => Promise<void>;
  /** A segment is sealed once it holds this many bytes. */
  segmentBytes?: number;
}

export interface JournalRecord {
  seq: number;
  value: unknown;
}

interface Segment {
  index: number;
  path: string;
  firstSeq: number;
  /** Records appended and not yet acknowledged. */
  outstanding: number;
  bytes: number;
  sealed: boolean;
}

interface PendingAppend {
  line: string;
  count: number;
  lastSeq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const SEGMENT_NAME = /^segment-(\d{10})\.jsonl$/;
const segmentName = (index: number) => `segment-${String(index).padStart(10, "0")}.jsonl`;

export const fsyncData = (file: FileHandle) => file.datasync();

export class Journal {
  readonly #dir: string;
  readonly #sync: (file: FileHandle) => Promise<void>;
  readonly #segmentBytes: number;
  readonly #segments: Segment[] = [];
  #file: FileHandle | undefined;
  #nextSeq: number;
  /** Highest sequence number written to a segment. */
  #writtenSeq: number;
  #pending: PendingAppend[] = [];
  #flushing = false;
  #failure: Error | undefined;
  #fsyncCount = 0;

  private constructor(dir: string, nextSeq: number, options: JournalOptions) {
    this.#dir = dir;
    this.#nextSeq = nextSeq;
    this.#writtenSeq = nextSeq - 1;
    this.#sync = options.sync ?? fsyncData;
    this.#segmentBytes = options.segmentBytes ?? 16 * 1024 * 1024;
  }

  /** Opens the journal in `dir` and returns the records that survived from earlier runs. */
  static async open(
    dir: string,
    options: JournalOptions = {},
  ): Promise<{ journal: Journal; records: JournalRecord[] }> {
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    const records: JournalRecord[] = [];
    const old: Segment[] = [];
    let nextSeq = 1;
    let lastIndex = 0;
    for (const name of names) {
      const index = Number(SEGMENT_NAME.exec(name)![1]);
      lastIndex = index;
      const text = await readFile(join(dir, name), "utf8");
      const segment: Segment = {
        index,
        path: join(dir, name),
        firstSeq: nextSeq,
        outstanding: 0,
        bytes: 0,
        sealed: true,
      };
      for (const line of text.split("\n")) {
        if (line === "") continue;
        let parsed: { v: unknown };
        try {
          parsed = JSON.parse(line) as { v: unknown };
        } catch {
          // A torn last line: the crash came mid-write, before its fsync, so
          // nobody was told it was admitted. Skip it.
          continue;
        }
        records.push({ seq: nextSeq++, value: parsed.v });
        segment.outstanding++;
      }
      old.push(segment);
    }
    const journal = new Journal(dir, nextSeq, options);
    journal.#segments.push(...old);
    await journal.#startSegment(lastIndex + 1);
    for (const segment of old) await journal.#dropIfDone(segment);
    return { journal, records };
  }

  get fsyncCount(): number {
    return this.#fsyncCount;
  }

  /** Resolves with each value's sequence number once all of them are on disk. */
  append(values: readonly unknown[]): Promise<number[]> {
    if (this.#failure) return Promise.reject(this.#failure);
    const seqs: number[] = [];
    let lines = "";
    for (const value of values) {
      seqs.push(this.#nextSeq++);
      lines += `${JSON.stringify({ v: value })}\n`;
    }
    return new Promise<number[]>((resolve, reject) => {
      this.#pending.push({
        line: lines,
        count: values.length,
        lastSeq: this.#nextSeq - 1,
        resolve: () => resolve(seqs),
        reject,
      });
      if (!this.#flushing) {
        this.#flushing = true;
        // Let the requests that arrived in this turn of the event loop join
        // the same write and fsync.
        setImmediate(() => void this.#flush());
      }
    });
  }

  /** These records' effects are durable elsewhere (the ledger): their segments may go. */
  async ack(seqs: readonly number[]): Promise<void> {
    const touched = new Set<Segment>();
    for (const seq of seqs) {
      const segment = this.#segmentOf(seq);
      if (!segment) continue;
      segment.outstanding--;
      touched.add(segment);
    }
    for (const segment of touched) await this.#dropIfDone(segment);
  }

  async close(): Promise<void> {
    while (this.#flushing) await new Promise((r) => setImmediate(r));
    await this.#file?.close();
    this.#file = undefined;
    // Every record was acknowledged (a drained, graceful shutdown): remove the
    // segments so the next start has nothing to replay. Best effort: a crash
    // or an error halfway leaves some behind, and replaying them is harmless.
    if (!this.#failure && this.#segments.every((s) => s.outstanding === 0)) {
      for (const segment of this.#segments.splice(0)) await unlink(segment.path).catch(() => undefined);
      const dir = await open(this.#dir, "r").catch(() => undefined);
      await dir
        ?.sync()
        .catch(() => undefined)
        .finally(() => dir.close());
    }
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const bytes = Buffer.from(batch.map((p) => p.line).join(""), "utf8");
        await this.#file!.write(bytes);
        await this.#sync(this.#file!);
        this.#fsyncCount++;
        // Records belong to the segment they were written to.
        const current = this.#segments.at(-1)!;
        current.bytes += bytes.length;
        for (const p of batch) current.outstanding += p.count;
        this.#writtenSeq = batch.at(-1)!.lastSeq;
        if (current.bytes >= this.#segmentBytes) await this.#rotate();
        for (const p of batch) p.resolve();
      } catch (error) {
        // After a failed fsync the kernel may have dropped the dirty pages:
        // nothing written since can be trusted, so the journal stops taking
        // appends (as PostgreSQL does) and readiness reports it.
        this.#failure = new Error(`journal write failed: ${(error as Error).message}`, { cause: error });
        for (const p of batch) p.reject(this.#failure);
        for (const p of this.#pending) p.reject(this.#failure);
        this.#pending = [];
      }
    }
    this.#flushing = false;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  async #startSegment(index: number): Promise<void> {
    const path = join(this.#dir, segmentName(index));
    this.#file = await open(path, "a");
    // The new file's directory entry must be durable too, or a power loss
    // could lose the whole segment.
    const dir = await open(this.#dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.#segments.push({
      index,
      path,
      firstSeq: this.#writtenSeq + 1,
      outstanding: 0,
      bytes: 0,
      sealed: false,
    });
  }

  async #rotate(): Promise<void> {
    const current = this.#segments.at(-1)!;
    await this.#file!.close();
    current.sealed = true;
    await this.#startSegment(current.index + 1);
    await this.#dropIfDone(current);
  }

  #segmentOf(seq: number): Segment | undefined {
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const segment = this.#segments[i]!;
      if (seq >= segment.firstSeq) return segment;
    }
    return undefined;
  }

  async #dropIfDone(segment: Segment): Promise<void> {
    if (!segment.sealed || segment.outstanding > 0) return;
    const at = this.#segments.indexOf(segment);
    if (at === -1) return;
    this.#segments.splice(at, 1);
    await unlink(segment.path).catch(() => undefined);
  }
}
