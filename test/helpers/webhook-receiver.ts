import http from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, verifySignature } from "../../src/workers/webhook/signature.ts";

/**
 * A shop's webhook endpoint on 127.0.0.1 for tests. `behave` decides, per
 * request, what the endpoint does with the n-th attempt it sees of a delivery:
 * accept it, fail with a status, hang up, or accept it but answer too late
 * (the sender times out and sends it again: a duplicate the shop must drop).
 */
export type Behaviour = "ok" | { status: number; retryAfter?: string } | "reset" | { slowOkMs: number };

export interface Received {
  deliveryId: string;
  attempt: number;
  seen: number;
  signatureValid: boolean;
  body: { deliveryId: string; claim: { claimId: string; userId: string; couponCode: string } };
  raw: string;
  accepted: boolean;
}

export async function webhookReceiver(
  t: { after: (fn: () => Promise<void> | void) => void },
  secret: string,
  behave: (deliveryId: string, seen: number) => Behaviour,
) {
  const received: Received[] = [];
  const seenCount = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const deliveryId = String(req.headers["stampede-delivery-id"]);
      const seen = (seenCount.get(deliveryId) ?? 0) + 1;
      seenCount.set(deliveryId, seen);
      const behaviour = behave(deliveryId, seen);
      const accepted = behaviour === "ok" || (typeof behaviour === "object" && "slowOkMs" in behaviour);
      received.push({
        deliveryId,
        attempt: Number(req.headers["stampede-attempt"]),
        seen,
        signatureValid: verifySignature(secret, req.headers[SIGNATURE_HEADER] as string | undefined, raw),
        body: JSON.parse(raw) as Received["body"],
        raw,
        accepted,
      });
      if (behaviour === "ok") res.writeHead(204).end();
      else if (behaviour === "reset") req.socket.destroy();
      else if ("slowOkMs" in behaviour) setTimeout(() => res.writeHead(200).end("ok"), behaviour.slowOkMs);
      else
        res
          .writeHead(behaviour.status, behaviour.retryAfter ? { "retry-after": behaviour.retryAfter } : {})
          .end("no");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/stampede`, received };
}
