#!/usr/bin/python3
"""Applies the adapter that pkg/lora saved (testdata/go_saved, written by
`go test ./pkg/lora -run GoSaved -update-go-saved`) to its base model with the plain-PyTorch
reference and PEFT's formulas, and writes the logits to go_saved/torch_logits.safetensors; the
Go test checks them against Go's own logits. Reads adapter_config.json like PEFT does (target
list, rank_pattern, alpha_pattern, use_rslora) and the safetensors keys as PEFT names them.
Run with Debian's python3-torch:  /usr/bin/python3 check_go_saved.py
"""
import json, math, os, sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_golden as lg  # noqa: E402  (this directory's generator: hooks, matching rules)

ref = lg.ref


def main():
    d = os.path.join(HERE, "go_saved")
    with open(os.path.join(d, "adapter_config.json")) as f:
        cfg = json.load(f)
    assert cfg["peft_type"] == "LORA" and cfg["task_type"] == "CAUSAL_LM", cfg
    assert set(cfg) == set(lg.PEFT_FIELDS), set(cfg) ^ set(lg.PEFT_FIELDS)
    base_dir = os.path.join(lg.LLAMA_TD, cfg["base_model_name_or_path"])
    with open(os.path.join(base_dir, "config.json")) as f:
        c = json.load(f)
    w = {}
    for fn in sorted(os.listdir(base_dir)):
        if fn.startswith("model") and fn.endswith(".safetensors"):
            w.update({k: v.float() for k, v in ref.read_safetensors(os.path.join(base_dir, fn)).items()})
    saved = ref.read_safetensors(os.path.join(d, "adapter_model.safetensors"))
    mods, used = {}, set()
    for name in lg.module_names(c):
        if not lg.targeted(cfg, name):
            continue
        r = lg.pattern(cfg["rank_pattern"], name, cfg["r"])
        alpha = lg.pattern(cfg["alpha_pattern"], name, cfg["lora_alpha"])
        s = alpha / math.sqrt(r) if cfg["use_rslora"] else alpha / r
        if name.endswith("embed_tokens"):
            ka, kb = f"base_model.model.{name}.lora_embedding_A", f"base_model.model.{name}.lora_embedding_B"
        else:
            ka, kb = f"base_model.model.{name}.lora_A.weight", f"base_model.model.{name}.lora_B.weight"
        A, B = saved[ka], saved[kb]
        fin, fout = lg.dims(c, name)
        assert tuple(A.shape) == (r, fin) and tuple(B.shape) == (fout, r), (name, A.shape, B.shape)
        mods[name] = (A, B, s)
        used |= {ka, kb}
    assert used == set(saved), set(saved) - used
    with open(os.path.join(base_dir, "inputs.json")) as f:
        inp = json.load(f)
    ids, pos = torch.tensor(inp["input_ids"]), torch.tensor(inp["position_ids"])
    with torch.no_grad():
        logits = ref.forward(c, w, ids, pos, None, lg.LoraHooks(mods, {}))
    ref.write_safetensors(os.path.join(d, "torch_logits.safetensors"), {"logits": logits.float()})
    print("modules", len(mods), "logits", tuple(logits.shape))


if __name__ == "__main__":
    main()
