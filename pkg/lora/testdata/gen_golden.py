#!/usr/bin/python3
"""Writes PEFT-format LoRA adapters with random nonzero A and B, and the logits of the base
model with each adapter applied by PEFT's formulas, for pkg/lora's parity tests.

Uses the plain-PyTorch Llama reference of ../../llama/testdata/gen_golden.py (run that first)
and its tiny checkpoints as base models. PEFT rules re-implemented here: target_modules list
(exact name or ".name" suffix) or regex (re.fullmatch); layers_to_transform on "layers.N.";
rank_pattern / alpha_pattern keys matched with re.match(rf"(.*\\.)?{key}$", name); scaling
alpha/r or alpha/sqrt(r) with use_rslora; Linear y += (x @ A.T @ B.T) * s; Embedding
y += (A.T[ids] @ B.T) * s; modules_to_save and bias="all" replace base tensors.
Run with Debian's python3-torch:  /usr/bin/python3 gen_golden.py
"""
import importlib.util, json, math, os, re, sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA_TD = os.path.join(HERE, "..", "..", "llama", "testdata")
_spec = importlib.util.spec_from_file_location("llama_ref", os.path.join(LLAMA_TD, "gen_golden.py"))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

PEFT_FIELDS = {  # every key PEFT's LoraConfig writes, with its defaults
    "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": None, "bias": "none",
    "corda_config": None, "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False,
    "inference_mode": True, "init_lora_weights": True, "layer_replication": None, "layers_pattern": None,
    "layers_to_transform": None, "loftq_config": {}, "lora_alpha": 8, "lora_bias": False, "lora_dropout": 0.0,
    "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None, "peft_type": "LORA",
    "r": 8, "rank_pattern": {}, "revision": None, "target_modules": None, "task_type": "CAUSAL_LM",
    "trainable_token_indices": None, "use_dora": False, "use_rslora": False,
}

CASES = {
    # All seven projections, per-module rank and alpha.
    "adapter_all7": dict(base="llama_gqa", cfg=dict(
        r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        rank_pattern={"o_proj": 2}, alpha_pattern={"down_proj": 3}, lora_dropout=0.05)),
    # Embedding LoRA, rsLoRA, lm_head as modules_to_save.
    "adapter_emb_head": dict(base="llama_gqa", cfg=dict(
        r=4, lora_alpha=16, use_rslora=True, target_modules=["q_proj", "v_proj", "embed_tokens"],
        modules_to_save=["lm_head"])),
    # Qwen2 (tied, q/k/v bias): regex targets naming layer 1 (PEFT refuses layers_to_transform
    # with a regex), trainable biases.
    "adapter_qwen2_regex_bias": dict(base="qwen2_bias_tied", cfg=dict(
        r=2, lora_alpha=4, target_modules=r".*\.1\.(self_attn\.k_proj|mlp\.up_proj)", bias="all")),
}


def module_names(c):
    names = ["model.embed_tokens"]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        names += [p + "self_attn." + n for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
        names += [p + "mlp." + n for n in ("gate_proj", "up_proj", "down_proj")]
    return names + ["lm_head"]


def targeted(cfg, name):
    t = cfg["target_modules"]
    if isinstance(t, str):
        hit = re.fullmatch(t, name) is not None
    else:
        hit = name in t or any(name.endswith("." + k) for k in t)
    if hit and cfg.get("layers_to_transform") is not None:
        m = re.match(r".*\.[^.]*\.(\d+)\.", name)
        hit = m is not None and int(m.group(1)) in cfg["layers_to_transform"]
    return hit


def pattern(pat, name, default):
    for k in sorted(pat):
        if re.match(rf"(.*\.)?{k}$", name):
            return pat[k]
    return default


def dims(c, name):
    hd = ref.head_dim(c)
    H, I, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    short = name.rsplit(".", 1)[-1]
    return {"embed_tokens": (V, H), "q_proj": (H, c["num_attention_heads"] * hd),
            "k_proj": (H, c["num_key_value_heads"] * hd), "v_proj": (H, c["num_key_value_heads"] * hd),
            "o_proj": (c["num_attention_heads"] * hd, H), "gate_proj": (H, I), "up_proj": (H, I),
            "down_proj": (I, H), "lm_head": (H, V)}[short]


class LoraHooks(ref.Hooks):
    def __init__(self, mods, replace):
        self.mods, self.replace = mods, replace

    def linear(self, name, x, y):
        if name not in self.mods:
            return y
        A, B, s = self.mods[name]
        return y + (x @ A.T @ B.T) * s

    def embedding(self, name, ids, y):
        if name not in self.mods:
            return y
        A, B, s = self.mods[name]
        return y + (torch.nn.functional.embedding(ids, A.T) @ B.T) * s

    def weight(self, name, w):
        return self.replace.get(name, w)


def main():
    for case, spec in CASES.items():
        gen = torch.Generator().manual_seed(sum(map(ord, case)))
        base_dir = os.path.join(LLAMA_TD, spec["base"])
        with open(os.path.join(base_dir, "config.json")) as f:
            c = json.load(f)
        w = {}
        for fn in sorted(os.listdir(base_dir)):
            if fn.startswith("model") and fn.endswith(".safetensors"):
                w.update({k: v.float() for k, v in ref.read_safetensors(os.path.join(base_dir, fn)).items()})
        cfg = dict(PEFT_FIELDS)
        cfg.update(spec["cfg"])
        cfg["base_model_name_or_path"] = spec["base"]
        mods, saved = {}, {}
        for name in module_names(c):
            if not targeted(cfg, name):
                continue
            r = pattern(cfg["rank_pattern"], name, cfg["r"])
            alpha = pattern(cfg["alpha_pattern"], name, cfg["lora_alpha"])
            s = alpha / math.sqrt(r) if cfg["use_rslora"] else alpha / r
            fin, fout = dims(c, name)
            A = 0.3 * torch.randn(r, fin, generator=gen)
            B = 0.3 * torch.randn(fout, r, generator=gen)
            mods[name] = (A, B, s)
            if name.endswith("embed_tokens"):
                saved[f"base_model.model.{name}.lora_embedding_A"] = A
                saved[f"base_model.model.{name}.lora_embedding_B"] = B
            else:
                saved[f"base_model.model.{name}.lora_A.weight"] = A
                saved[f"base_model.model.{name}.lora_B.weight"] = B
        replace = {}
        for m in cfg["modules_to_save"] or []:
            if m == "lm_head":
                src = w.get("lm_head.weight", w["model.embed_tokens.weight"])
                replace["lm_head.weight"] = src + 0.05 * torch.randn(src.shape, generator=gen)
        if cfg["bias"] == "all":
            for n in w:
                if n.endswith(".bias"):
                    replace[n] = w[n] + 0.2 * torch.randn(w[n].shape, generator=gen)
        for n, t in replace.items():
            # PEFT keeps a LoRA-wrapped module's bias in its base layer: "….k_proj.base_layer.bias".
            module = n[:-len(".bias")] if n.endswith(".bias") else None
            key = module + ".base_layer.bias" if module in mods else n
            saved["base_model.model." + key] = t
        d = os.path.join(HERE, case)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "adapter_config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        ref.write_safetensors(os.path.join(d, "adapter_model.safetensors"), saved, {"format": "pt"})
        with open(os.path.join(base_dir, "inputs.json")) as f:
            inp = json.load(f)
        ids = torch.tensor(inp["input_ids"])
        pos = torch.tensor(inp["position_ids"])
        seg = torch.tensor(inp["segment_ids"]) if inp["segment_ids"] is not None else None
        with torch.no_grad():
            logits = ref.forward(c, w, ids, pos, seg, LoraHooks(mods, replace))
            base = ref.forward(c, w, ids, pos, seg)
        assert (logits - base).abs().max() > 1e-2, case  # the adapter must matter
        ref.write_safetensors(os.path.join(d, "golden.safetensors"), {"logits": logits.float()})
        print(case, sorted(mods), "max|Δ| vs base", float((logits - base).abs().max()))


if __name__ == "__main__":
    main()
