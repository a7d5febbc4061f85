/**
 * Bucket names, in one place for both limiters. Campaign ids cannot contain
 * ":" (ID_PATTERN), so `u:<campaign>:<user>` cannot collide across campaigns.
 */
export const userBucket = (campaignId: string, userId: string): string => `u:${campaignId}:${userId}`;
export const ipBucket = (clientIp: string): string => `ip:${clientIp}`;
