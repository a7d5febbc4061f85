/**
 * What differs between one Redis and a Redis Cluster, in one place: the
 * commands that see one node only (SCAN, INFO, CONFIG, WAIT) are sent to the
 * node that matters, and keys are grouped by the slot they hash to.
 *
 * Redis Cluster hashes a key by its hash tag (the text between the first `{`
 * and the next `}`, when not empty) or else by the whole key, with CRC16
 * (XMODEM) modulo 16,384. Keys of one tag share a slot; one command or
 * script may only touch keys of one slot (CROSSSLOT otherwise).
 */

import { Cluster, type Redis } from "ioredis";
import type { RedisClient } from "./connection.ts";

export const SLOTS = 16_384;

/** What Redis Cluster hashes a key by: its hash tag, or the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

/** The cluster slot of a key (what CLUSTER KEYSLOT answers). */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTagOf(key), "utf8"))
    crc = ((crc << 8) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!) & 0xffff;
  return crc % SLOTS;
}

/** Keys by slot, in the order first seen: one command or script per group. */
export function groupBySlot(keys: readonly string[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const key of keys) {
    const slot = keySlot(key);
    const group = groups.get(slot);
    if (group) group.push(key);
    else groups.set(slot, [key]);
  }
  return [...groups.values()];
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** The masters: the one Redis, or every master of the cluster as the client knows them now. */
export function masterNodes(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes("master") : [client];
}

/** host:port of a node, for reports. */
export function nodeAddress(node: Redis): string {
  const { host, port, path } = node.options;
  return path ? path : `${host ?? "127.0.0.1"}:${port ?? 6379}`;
}

/**
 * The connection that serves `key` now: the one Redis, or the master the
 * cluster client maps the key's slot to (undefined while it knows no map).
 * A command sent on it is not redirected: it fails if the node does.
 */
export function nodeFor(client: RedisClient, key: string): Redis | undefined {
  if (!isCluster(client)) return client;
  const address = client.slots[keySlot(key)]?.[0];
  if (address === undefined) return undefined;
  return client.nodes("master").find((node) => nodeAddress(node) === address);
}

/**
 * A new client like this one (same node or cluster, same options), not
 * connected yet. `queueWhileConnecting`: commands sent before it is
 * connected wait for it (a subscriber's SUBSCRIBE), even when this one's
 * commands fail at once instead (the commands connection).
 */
export function duplicate(
  client: RedisClient,
  options: { queueWhileConnecting?: boolean } = {},
): RedisClient {
  if (!options.queueWhileConnecting) return isCluster(client) ? client.duplicate() : client.duplicate();
  return isCluster(client)
    ? client.duplicate(undefined, { enableOfflineQueue: true, enableAutoPipelining: false })
    : client.duplicate({ enableOfflineQueue: true, enableAutoPipelining: false });
}
