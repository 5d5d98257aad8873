// Bundles web/src into coach_api/web/static (app.js, app.css, index.html, icon.svg), which are
// committed so that the API serves the app without npm. Each output's first line names
// the SHA-256 of what it was built from (tests/web/test_static.py recomputes it and
// fails when the committed bundle is stale).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, "src");
const out = join(here, "..", "coach_api", "web", "static");

/** Every file under `folder`, as paths relative to `root` with "/" separators, sorted. */
function filesUnder(folder, root) {
  return readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(folder, entry.name);
      return entry.isDirectory() ? filesUnder(path, root) : [relative(root, path).split(sep).join("/")];
    })
    .sort();
}

/** SHA-256 over the sources, the lock file (the three.js version) and this script: for
 * each, its path, its byte length and its bytes. */
function sourcesDigest() {
  const named = [...filesUnder(source, here), "package-lock.json", "build.mjs"];
  const hash = createHash("sha256");
  for (const name of named) {
    const bytes = readFileSync(join(here, name));
    hash.update(`${name}\n${bytes.length}\n`);
    hash.update(bytes);
  }
  return hash.digest("hex");
}

const digest = sourcesDigest();
const stamp = `coach-web sources sha256:${digest}`;
mkdirSync(out, { recursive: true });
await build({
  // main.js imports app.css: esbuild writes it beside the script as app.css.
  entryPoints: { app: join(source, "main.js") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  outdir: out,
  legalComments: "eof", // three.js's licence header stays in the bundle
  banner: { js: `// ${stamp}`, css: `/* ${stamp} */` },
  logLevel: "warning",
});
const page = readFileSync(join(source, "index.html"), "utf8");
writeFileSync(join(out, "index.html"), `<!-- ${stamp} -->\n${page}`);
writeFileSync(join(out, "icon.svg"), readFileSync(join(source, "icon.svg")));
console.log(`built ${relative(process.cwd(), out)} (${stamp})`);
