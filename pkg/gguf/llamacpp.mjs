// Runs llama.cpp (through the npm package node-llama-cpp, prebuilt, CPU only, offline) on the
// GGUF files of a job and prints what it computed as JSON; gguf.LlamaCpp runs it (embedded in
// the Go package), for the tests that compare llama.cpp with LoRA Lab and for notebooks.
//
//   node llamacpp.mjs <node-llama-cpp package dir> <job.json>
//
// job.json: {"runs": [{"model": "base.gguf", "lora": "adapter.gguf" | "", "texts": ["…"],
//            "prompts": [[ids…]], "max_tokens": 16, "top": 5}]}
// Output: {"runs": [{"tokens": [[ids…] per text], "greedy": [[ids…] per prompt],
//          "next": [{"ids": [top ids], "logprobs": [their log-probabilities]} per prompt]}]}
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {pathToFileURL} from "node:url";

const [pkgDir, jobPath] = process.argv.slice(2);
const {getLlama} = await import(pathToFileURL(join(pkgDir, "dist", "index.js")).href);
const job = JSON.parse(readFileSync(jobPath, "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});

const out = {runs: []};
for (const run of job.runs) {
  const model = await llama.loadModel({modelPath: run.model});
  // One thread: llama.cpp's threads spin at each op's barrier, which on a busy 2-core machine
  // turns a LoRA graph (twice the ops) into minutes per token.
  const ctxOpts = {contextSize: 512, batchSize: 512, threads: 1, sequences: Math.max(1, (run.prompts ?? []).length)};
  if (run.lora) ctxOpts.lora = {adapters: [{filePath: run.lora, scale: 1}]};
  const ctx = await model.createContext(ctxOpts);
  const res = {tokens: [], greedy: [], next: []};
  for (const text of run.texts ?? []) res.tokens.push(Array.from(model.tokenize(text, false)));
  for (const prompt of run.prompts ?? []) {
    // A fresh sequence per prompt: reusing one after leaving its generator early hangs.
    const seq = ctx.getSequence();
    // Greedy continuation; the end-of-generation token stops it and is kept, as Go keeps it.
    const gen = [];
    let first = null;
    for await (const item of seq.evaluateWithMetadata(prompt, {probabilities: true}, {temperature: 0, yieldEogToken: true})) {
      if (first === null) first = item.probabilities;
      gen.push(item.token);
      if (gen.length >= (run.max_tokens ?? 16) || model.isEogToken(item.token)) break;
    }
    res.greedy.push(gen);
    const top = Array.from(first.entries()).slice(0, run.top ?? 5);
    res.next.push({ids: top.map(([t]) => t), logprobs: top.map(([, p]) => Math.log(p))});
    await seq.dispose();
  }
  out.runs.push(res);
  await ctx.dispose();
  await model.dispose();
}
process.stdout.write(JSON.stringify(out));
await llama.dispose();
