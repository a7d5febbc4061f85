/**
 * A campaign's claims in unit order, a page at a time, by keyset: each page
 * is a query of its own (`unit > the previous page's last unit ORDER BY unit
 * LIMIT n`), so no cursor or statement stays open while the caller awaits
 * between pages, and memory holds one page however many claims there are.
 * Written once for both SQL ledgers; each supplies the page query.
 */
import type { Claim } from "../../domain/types.ts";

export type ReadPage = (afterUnit: number, limit: number) => Promise<Claim[]> | Claim[];

/** Units start at 1, so the first page is the one after unit 0. */
export async function* keysetPages(readPage: ReadPage, pageSize: number): AsyncGenerator<readonly Claim[]> {
  let after = 0;
  for (;;) {
    const page = await readPage(after, pageSize);
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    after = page.at(-1)!.unit;
  }
}

export async function* eachClaim(pages: AsyncIterable<readonly Claim[]>): AsyncGenerator<Claim> {
  for await (const page of pages) yield* page;
}
