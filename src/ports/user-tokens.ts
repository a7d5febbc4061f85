/**
 * The user-token seam (USER_TOKEN_SECRET, SPEC "Identity and tokens"): verifies
 * a user's token and resolves with its subject, the userId it speaks for;
 * rejects a missing, forged or expired one.
 */
export interface UserTokens {
  subject(token: string): Promise<string>;
}
