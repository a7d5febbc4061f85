import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * The docs stand on their own: someone who clones the repository can follow
 * every link in README.md, BENCHMARKS.md, CHANGELOG.md, docs/*.md and
 * bench/*.md. A relative link must stay inside the repository (no
 * "../" past the root), name a file or folder that exists (not through a symlink
 * that leads out, like node_modules here), and a #fragment must name a
 * heading of the file it points to. Web links (http, https, mailto) are not
 * followed. Reads files only: no services, no network.
 */

const ROOT = realpathSync(fileURLToPath(new URL("../../", import.meta.url)));

const mdIn = (dir: string): string[] =>
  existsSync(join(ROOT, dir))
    ? readdirSync(join(ROOT, dir))
        .filter((name) => name.endsWith(".md"))
        .map((name) => join(dir, name))
    : [];

/** The files whose links are checked, relative to the repository's root. */
function checkedFiles(): string[] {
  const top = ["README.md", "BENCHMARKS.md", "CHANGELOG.md"].filter((f) => existsSync(join(ROOT, f)));
  return [...top, ...mdIn("docs"), ...mdIn("bench")];
}

/** The text with fenced code blocks blanked out. */
function withoutFences(markdown: string): string {
  const lines = markdown.split("\n");
  let fence: string | undefined;
  const kept = lines.map((line) => {
    const opening = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === undefined && opening) {
      fence = opening[1]!;
      return "";
    }
    if (fence !== undefined) {
      if (new RegExp(`^\\s{0,3}${fence[0]}{${fence.length},}\\s*$`).test(line)) fence = undefined;
      return "";
    }
    return line;
  });
  return kept.join("\n");
}

/** The text with fenced code blocks and code spans blanked out (their brackets are not links). */
function withoutCode(markdown: string): string {
  return withoutFences(markdown).replace(/(`+)[\s\S]*?\1/g, (span) => " ".repeat(span.length));
}

/** Every link target of a markdown text: inline links and images, reference definitions, HTML href/src. */
function linkTargets(markdown: string): string[] {
  const text = withoutCode(markdown);
  const targets: string[] = [];
  for (const m of text.matchAll(/\]\(\s*(<[^>\n]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g))
    targets.push(m[1]!);
  for (const m of text.matchAll(/^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)/gm)) targets.push(m[1]!);
  for (const m of text.matchAll(/<(?:a|img)\s[^>]*?\b(?:href|src)\s*=\s*"([^"]*)"/gi)) targets.push(m[1]!);
  return targets.map((t) => (t.startsWith("<") && t.endsWith(">") ? t.slice(1, -1) : t));
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a markdown file offers: its ATX headings (duplicates numbered as GitHub does) and HTML ids. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  const text = withoutFences(markdown);
  for (const m of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<[a-z]+\s[^>]*?\b(?:id|name)\s*=\s*"([^"]+)"/gi)) found.add(m[1]!);
  return found;
}

const WEB = /^(?:https?:|mailto:)/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * What is wrong with one link of `file` (a path relative to `root`), or
 * undefined when it is fine.
 */
function problem(root: string, file: string, target: string): string | undefined {
  if (WEB.test(target) || target.startsWith("//")) return undefined;
  if (SCHEME.test(target)) return "a link that is neither relative nor a web address";
  const hash = target.indexOf("#");
  const rawPath = (hash === -1 ? target : target.slice(0, hash)).replace(/\?.*$/, "");
  const fragment = hash === -1 ? undefined : target.slice(hash + 1);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return "a link that is not valid percent-encoding";
  }
  const from = path.startsWith("/") ? root : dirname(join(root, file));
  const resolved = path === "" ? join(root, file) : resolve(from, path.replace(/^\/+/, ""));
  const inside = (p: string) => {
    const rel = relative(root, p);
    return rel === "" || !(rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel));
  };
  if (!inside(resolved)) return "a link outside the repository";
  if (!existsSync(resolved)) return "a link to a file that does not exist";
  if (!inside(realpathSync(resolved))) return "a link through a symlink that leads outside the repository";
  if (fragment && fragment !== "" && statSync(resolved).isFile() && resolved.endsWith(".md")) {
    const wanted = decodeURIComponent(fragment).toLowerCase();
    if (!anchors(readFileSync(resolved, "utf8")).has(wanted))
      return `a link to #${fragment}, which is no heading of ${relative(root, resolved)}`;
  }
  return undefined;
}

test("the checker finds the links and judges them", () => {
  const md = [
    "See [the contract](../outside/notes.md), [api](docs/api.md#errors) and ![img](docs/dashboard.png).",
    "```",
    "[not a link](nowhere.md)",
    "```",
    '`[code](nowhere.md)` and <a href="https://example.com">web</a>',
    '[ref]: CHANGELOG.md "title"',
  ].join("\n");
  assert.deepEqual(linkTargets(md), [
    "../outside/notes.md",
    "docs/api.md#errors",
    "docs/dashboard.png",
    "CHANGELOG.md",
    "https://example.com",
  ]);
  assert.equal(problem(ROOT, "README.md", "../outside/notes.md"), "a link outside the repository");
  assert.equal(problem(ROOT, "docs/api.md", "../../x.md"), "a link outside the repository");
  assert.equal(problem(ROOT, "README.md", "docs/no-such-page.md"), "a link to a file that does not exist");
  assert.match(problem(ROOT, "README.md", "docs/api.md#no-such-heading") ?? "", /no heading/);
  assert.equal(
    problem(ROOT, "README.md", "file:///etc/passwd"),
    "a link that is neither relative nor a web address",
  );
  assert.equal(problem(ROOT, "docs/api.md", "../BENCHMARKS.md"), undefined);
  assert.equal(problem(ROOT, "docs/api.md", "#errors"), undefined);
  assert.equal(problem(ROOT, "README.md", "https://example.com/x"), undefined);
  assert.equal(slug("Metrics: `GET /metrics`"), "metrics-get-metrics");
  assert.equal(slug("User tokens (`USER_TOKEN_SECRET`)"), "user-tokens-user_token_secret");
  assert.equal(slug("A user's claims"), "a-users-claims");
  assert.deepEqual([...anchors("# A\n## A\n```\n# B\n```\n")], ["a", "a-1"]);
});

test("README, BENCHMARKS, CHANGELOG, docs/*.md and bench/*.md link only inside the repository", () => {
  const files = checkedFiles();
  assert.ok(files.includes("README.md") && files.includes("docs/api.md"), files.join(", "));
  const problems: string[] = [];
  for (const file of files) {
    for (const target of linkTargets(readFileSync(join(ROOT, file), "utf8"))) {
      const wrong = problem(ROOT, file, target);
      if (wrong) problems.push(`${file}: ${target}: ${wrong}`);
    }
  }
  assert.deepEqual(problems, []);
});
