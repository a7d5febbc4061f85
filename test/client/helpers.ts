import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort } from "../helpers/net.ts";
import { type ServerProcess, startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";

export const ADMIN = "client-test-admin-token-0123456789abcdef";

export interface Embedded {
  url: string;
  dataDir: string;
  port: number;
  server: ServerProcess;
  /** Starts the server again on the same port and DATA_DIR (after a kill). */
  restart(): Promise<void>;
}

/** A real `stampede start` child process with its own DATA_DIR, stopped when the test ends. */
export async function startEmbedded(t: TestContext, env: Record<string, string> = {}): Promise<Embedded> {
  const dataDir = join(tempDir(t, "stampede-client-"), "data");
  const port = await freePort();
  const fullEnv = {
    DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    PORT: String(port),
    RATE_LIMIT_USER: "off",
    ...env,
  };
  const embedded: Embedded = {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    port,
    server: await startServer("start", fullEnv),
    async restart() {
      embedded.server = await startServer("start", fullEnv);
    },
  };
  t.after(() => embedded.server.stop("SIGKILL"));
  return embedded;
}

export async function createCampaign(
  url: string,
  campaign: { id: string; stock: number; perUserLimit?: number; startsAt?: string },
): Promise<void> {
  const response = await fetch(`${url}/v1/campaigns`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: campaign.id, ...campaign }),
  });
  if (response.status !== 201)
    throw new Error(`campaign not created: ${response.status} ${await response.text()}`);
}
