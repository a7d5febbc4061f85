import { randomBytes } from "node:crypto";
import { mkdir, open, stat, statfs, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type DoctorCheck, fail, ok, type Verdict, warn } from "../types.ts";

/**
 * The embedded mode's promise rests on DATA_DIR: a 202 is sent after the
 * claim is fsync'ed there. So: can we write, does fsync work and how long does
 * it take (every spike waits for a few of them), is there room, and is the
 * admin token private (and DATA_DIR itself: stampede creates it 0700).
 */
const SLOW_FSYNC_MS = 50;
const LOW_DISK_BYTES = 1024 ** 3;
const FULL_DISK_BYTES = 100 * 1024 ** 2;

export interface DataDirOptions {
  dataDir: string;
  fsync: "always" | "off";
}

export function dataDirCheck(options: DataDirOptions): DoctorCheck {
  return { name: "data-dir", run: () => checkDataDir(options) };
}

async function checkDataDir({ dataDir, fsync }: DataDirOptions): Promise<Verdict[]> {
  const dir = resolve(dataDir);
  const verdicts: Verdict[] = [];
  try {
    // Owner only: the ledger holds coupon codes and webhook secrets.
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    return [
      fail(
        "data-dir",
        `cannot create ${dir}: ${(error as Error).message}`,
        "set DATA_DIR to a writable folder",
      ),
    ];
  }

  const probe = join(dir, `.doctor-${randomBytes(6).toString("hex")}`);
  try {
    const file = await open(probe, "wx", 0o600);
    let fsyncMs: number;
    try {
      await file.write(Buffer.alloc(4096, 1));
      const started = performance.now();
      await file.datasync();
      fsyncMs = performance.now() - started;
    } finally {
      await file.close();
      await unlink(probe).catch(() => undefined);
    }
    verdicts.push(
      fsyncMs > SLOW_FSYNC_MS
        ? warn(
            "data-dir",
            `${dir} is writable but fsync took ${fsyncMs.toFixed(1)} ms`,
            "put DATA_DIR on a faster local disk: every 202 waits for a group fsync",
          )
        : ok("data-dir", `${dir} is writable, fsync works (${fsyncMs.toFixed(1)} ms)`),
    );
  } catch (error) {
    return [
      fail(
        "data-dir",
        `cannot write and fsync in ${dir}: ${(error as Error).message}`,
        "give the stampede user write access to DATA_DIR, on a local disk",
      ),
    ];
  }

  try {
    const fs = await statfs(dir);
    const free = fs.bavail * fs.bsize;
    const text = `${(free / 1024 ** 3).toFixed(1)} GiB free on the disk of DATA_DIR`;
    if (free < FULL_DISK_BYTES)
      verdicts.push(fail("disk", text, "free disk space: the journal cannot take admissions on a full disk"));
    else if (free < LOW_DISK_BYTES) verdicts.push(warn("disk", text, "free disk space (1 GiB or more)"));
    else verdicts.push(ok("disk", text));
  } catch (error) {
    verdicts.push(
      warn("disk", `cannot read free space: ${(error as Error).message}`, "check the disk by hand"),
    );
  }

  const mode = (await stat(dir)).mode;
  if ((mode & 0o077) !== 0)
    verdicts.push(
      warn(
        "data-dir",
        `${dir} is open to other users (mode ${(mode & 0o777).toString(8)}); its ledger holds coupon codes and webhook secrets`,
        `chmod 700 ${dir}`,
      ),
    );

  try {
    const token = await stat(join(dir, "admin-token"));
    if ((token.mode & 0o077) !== 0)
      verdicts.push(
        warn(
          "admin-token",
          `${join(dir, "admin-token")} is readable by other users`,
          `chmod 600 ${join(dir, "admin-token")}`,
        ),
      );
  } catch {
    // No stored token (ADMIN_TOKEN is set, or the first start has not happened yet).
  }

  verdicts.push(
    fsync === "always"
      ? ok(
          "promise",
          "embedded: a 202 is sent after the claim is fsync'ed: it survives kill -9 and power loss",
        )
      : warn(
          "promise",
          "FSYNC=off: a 202 survives kill -9 of the process but NOT a power loss or kernel crash",
          "unset FSYNC (default always) outside tests and benchmarks",
        ),
  );
  return verdicts;
}
