#!/usr/bin/env python3
"""The Python side of pkg/interop's checks: the real transformers, PEFT and tokenizers read what
LoRA Lab wrote, and PEFT writes adapters for LoRA Lab to read. Every result goes to files that the
Go test compares with its own numbers; nothing here decides pass or fail except crashes (a file
that transformers/PEFT cannot load fails the run with their own error).

    hf_interop.py models JOB OUT      JOB lists {id, model, adapter?, merged_out?, input_ids};
                                      writes OUT/<id>.safetensors {"logits"} and, for merged_out,
                                      PEFT's merge_and_unload() saved with save_pretrained
    hf_interop.py peft-make JOB OUT   JOB lists bases {name: dir}; for each LoraConfig case below:
                                      get_peft_model, print_trainable_parameters (captured), three
                                      AdamW steps, save_pretrained to OUT/<case>/, logits of the
                                      trained PeftModel, print(peft_model); meta-device counts
                                      for JOB's "counts"
    hf_interop.py tokenizer JOB OUT   JOB lists {id, dir, conversations, texts}; writes OUT/tokenizer.json
                                      with AutoTokenizer's apply_chat_template renders and encodings

Run by `go test ./pkg/interop/` with the venv of docker/requirements-test.txt.
"""
import contextlib, io, json, os, sys, warnings

warnings.filterwarnings("ignore")  # PEFT/transformers advice; errors still raise

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

torch.set_num_threads(max(1, os.cpu_count() or 1))


def versions():
    import peft, transformers, safetensors
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "safetensors": safetensors.__version__}


def save_logits(path, logits):
    from safetensors.torch import save_file
    save_file({"logits": logits.detach().float().contiguous()}, path)


def load_model(d):
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
    return m.eval()


def run_models(job, out):
    from peft import PeftModel
    for t in job["tasks"]:
        model = load_model(t["model"])
        if t.get("adapter"):
            model = PeftModel.from_pretrained(model, t["adapter"]).eval()
        ids = torch.tensor(t["input_ids"], dtype=torch.long)
        with torch.no_grad():
            save_logits(os.path.join(out, t["id"] + ".safetensors"), model(input_ids=ids).logits)
        if t.get("merged_out"):
            merged = model.merge_and_unload()
            merged.save_pretrained(t["merged_out"], safe_serialization=True)
        print("models:", t["id"], "ok", flush=True)


# LoraConfig shapes PEFT makes for LoRA Lab to load (base: a name from the job's "bases").
PEFT_CASES = {
    # PEFT's defaults: r=8, alpha=8, q_proj and v_proj for llama.
    "default": dict(base="llama_gqa", cfg=dict()),
    # every Linear but the head, rsLoRA, dropout
    "all_linear_rslora": dict(base="llama_gqa", cfg=dict(
        target_modules="all-linear", r=4, lora_alpha=16, use_rslora=True, lora_dropout=0.1)),
    # per-module rank and alpha, by short name and by full path
    "patterns": dict(base="llama_gqa", cfg=dict(
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        r=4, lora_alpha=8, rank_pattern={"o_proj": 2, "model.layers.1.mlp.down_proj": 6},
        alpha_pattern={"down_proj": 3})),
    # embedding LoRA, Gaussian init, lm_head trained in full (modules_to_save)
    "emb_head": dict(base="llama_gqa", cfg=dict(
        target_modules=["embed_tokens", "q_proj", "v_proj"], modules_to_save=["lm_head"],
        init_lora_weights="gaussian", r=4, lora_alpha=8)),
    # Qwen2 with q/k/v bias and tied embeddings: regex targets (layer 1 only: PEFT refuses
    # layers_to_transform with a regex), trainable biases
    "qwen2_regex_bias": dict(base="qwen2_bias_tied", cfg=dict(
        target_modules=r".*\.1\.(self_attn\.k_proj|mlp\.up_proj)", bias="all", r=2, lora_alpha=4)),
    # layers_to_transform with a target list
    "layers_to_transform": dict(base="llama_gqa", cfg=dict(
        target_modules=["k_proj", "gate_proj"], layers_to_transform=[0], r=3, lora_alpha=5)),
    # Qwen2 with lora_only biases and the usual attention targets
    "qwen2_lora_only": dict(base="qwen2_bias_tied", cfg=dict(
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], bias="lora_only", r=4, lora_alpha=8)),
    # the project's tiny base, the notebooks' usual choice
    "tiny_base": dict(base="tiny_base", cfg=dict(
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        r=16, lora_alpha=32, lora_dropout=0.05)),
    # DoRA (use_dora): trained with dropout (PEFT's base term on the dropped-out input), rank pattern
    "tiny_dora": dict(base="tiny_base", cfg=dict(
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        r=8, lora_alpha=16, lora_dropout=0.1, use_dora=True, rank_pattern={"down_proj": 4})),
    # DoRA with q/k/v biases trained (lora_only) and rsLoRA on Qwen2
    "qwen2_dora_bias": dict(base="qwen2_bias_tied", cfg=dict(
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], bias="lora_only", r=4, lora_alpha=8,
        use_rslora=True, use_dora=True)),
}


def trainable_line(model):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.print_trainable_parameters()
    return buf.getvalue().strip()


def run_peft_make(job, out):
    from peft import LoraConfig, get_peft_model
    results = {"versions": versions(), "cases": {}, "counts": {}}
    for name, case in PEFT_CASES.items():
        base_dir = job["bases"][case["base"]]
        torch.manual_seed(sum(map(ord, name)))
        model = load_model(base_dir)
        cfg = LoraConfig(task_type="CAUSAL_LM", base_model_name_or_path=case["base"], **case["cfg"])
        pm = get_peft_model(model, cfg)
        line = trainable_line(pm)
        # Three AdamW steps on a random batch, so every saved tensor (B starts at zero) is trained.
        V = model.config.vocab_size
        g = torch.Generator().manual_seed(7)
        batch = torch.randint(0, V, (2, 12), generator=g)
        opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=2e-2)
        pm.train()
        for _ in range(3):
            loss = pm(input_ids=batch, labels=batch).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        pm.eval()
        d = os.path.join(out, name)
        pm.save_pretrained(d, safe_serialization=True)
        ids = torch.randint(0, V, (2, 9), generator=g)
        with torch.no_grad():
            save_logits(os.path.join(d, "logits.safetensors"), pm(input_ids=ids).logits)
        results["cases"][name] = {"base": case["base"], "count_line": line, "input_ids": ids.tolist(),
                                  "loss_after": loss.item(), "structure": str(pm)}
        print("peft-make:", name, line, flush=True)
    # Counts on real-size configs (written by Go as config.json), built on the meta device.
    from transformers import AutoConfig, AutoModelForCausalLM
    for c in job.get("counts", []):
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(c["config_dir"]))
            pm = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **c["lora"]))
        line = trainable_line(pm)
        d = os.path.join(out, "counts", c["id"])
        pm.peft_config["default"].save_pretrained(d)
        results["counts"][c["id"]] = {"count_line": line, "adapter_dir": d}
        print("count:", c["id"], line, flush=True)
    with open(os.path.join(out, "peft_make.json"), "w") as f:
        json.dump(results, f, indent=1)


def run_tokenizer(job, out):
    from transformers import AutoTokenizer
    res = {"versions": versions(), "cases": {}}
    for t in job["tasks"]:
        tok = AutoTokenizer.from_pretrained(t["dir"])
        r = {"class": type(tok).__name__, "renders": [], "renders_gen": [], "ids": [], "chat_ids": [],
             "bos_token": tok.bos_token, "eos_token": tok.eos_token, "pad_token": tok.pad_token,
             "chat_template": tok.chat_template}
        for conv in t["conversations"]:
            r["renders"].append(tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=False))
            prompt = conv[:-1] if conv[-1]["role"] == "assistant" else conv
            r["renders_gen"].append(tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))
            enc = tok.apply_chat_template(conv, tokenize=True, add_generation_prompt=False, return_dict=True)
            r["chat_ids"].append(list(enc["input_ids"]))
        for text in t["texts"]:
            r["ids"].append(tok(text, add_special_tokens=False)["input_ids"])
        res["cases"][t["id"]] = r
        print("tokenizer:", t["id"], r["class"], flush=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False, indent=1)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, job_path, out = sys.argv[1:]
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    os.makedirs(out, exist_ok=True)
    {"models": run_models, "peft-make": run_peft_make, "tokenizer": run_tokenizer}[cmd](job, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
