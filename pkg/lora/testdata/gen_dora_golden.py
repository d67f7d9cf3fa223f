#!/usr/bin/env python3
"""Golden values of DoRA (LoraConfig(use_dora=True)) computed by the real PEFT, for pkg/lora's
dora_golden_test.go. Run with the interop venv (PEFT 0.21.2, torch, transformers):

    ~/.cache/loralab/venv-test/bin/python pkg/lora/testdata/gen_dora_golden.py

Model cases (dora_llama_gqa, dora_qwen2_bias): get_peft_model on a tiny checkpoint of
../../llama/testdata with init_lora_weights=False (A and B random, so PEFT initialises every
lora_magnitude_vector to ||W + s*B*A|| row-wise), lora_dropout=0. The initial magnitudes are
written to golden.safetensors ("init_magnitude.<module>"), then the magnitudes are scaled by
1 + 0.3*N(0,1) (so that m != ||W + s*B*A||), the adapter is saved with save_pretrained, and one
training-mode forward/backward of the summed shifted token cross entropy (labels = input_ids)
gives "loss_sum" and the gradients "grad.<LoRA Lab name>" of every lora_A, lora_B, magnitude
(and trainable bias); "logits" are the eval-mode logits.

Layer case (dora_dropout_layer): PEFT's lora.Linear around one nn.Linear with bias, lora_dropout
active in training, its dropout module replaced by a fixed mask so that the dropped-out input x~
is known: PEFT then recomputes the base output on x~ (F.linear without bias). Writes W, bias, A,
B, m, x, mask, xt (= x~ = x * mask), G, out = layer(x), and the gradients of sum(out * G) w.r.t. A, B, m and x.
"""
import json, os

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA_TD = os.path.join(HERE, "..", "..", "llama", "testdata")
PREFIX = "base_model.model."

CASES = {
    "dora_llama_gqa": dict(base="llama_gqa", cfg=dict(
        r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                           "down_proj", "lm_head"])),
    "dora_qwen2_bias": dict(base="qwen2_bias_tied", cfg=dict(
        r=2, lora_alpha=6, use_rslora=True, target_modules=["q_proj", "k_proj", "v_proj", "down_proj"],
        bias="lora_only")),
}


def ours(name):
    """PEFT's parameter name -> LoRA Lab's adapter tensor name."""
    name = name[len(PREFIX):] if name.startswith(PREFIX) else name
    name = name.replace(".lora_A.default.", ".lora_A.").replace(".lora_B.default.", ".lora_B.")
    name = name.replace(".lora_magnitude_vector.default.weight", ".lora_magnitude_vector")
    return name.replace(".base_layer.bias", ".bias")


def model_case(name, spec):
    torch.manual_seed(sum(map(ord, name)))
    base_dir = os.path.join(LLAMA_TD, spec["base"])
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
    cfg = LoraConfig(task_type="CAUSAL_LM", base_model_name_or_path=spec["base"], use_dora=True,
                     init_lora_weights=False, lora_dropout=0.0, **spec["cfg"])
    pm = get_peft_model(model, cfg)
    out = {}
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_magnitude_vector" in n:
                out["init_magnitude." + ours(n)[:-len(".lora_magnitude_vector")]] = p.detach().clone()
                p.mul_(1 + 0.3 * torch.randn(p.shape, generator=g))
            elif n.endswith(".bias") and p.requires_grad:
                p.add_(0.1 * torch.randn(p.shape, generator=g))
    d = os.path.join(HERE, name)
    # save_embedding_layers=False: PEFT would also store the frozen lm_head (a "layer it treats as
    # an embedding") when lm_head is a target.
    pm.save_pretrained(d, safe_serialization=True, save_embedding_layers=False)
    cpath = os.path.join(d, "adapter_config.json")
    with open(cpath) as f:
        written = json.load(f)
    written["base_model_name_or_path"] = spec["base"]  # PEFT wrote this machine's path
    with open(cpath, "w") as f:
        json.dump(written, f, indent=2, sort_keys=True)
    with open(os.path.join(base_dir, "inputs.json")) as f:
        ids = torch.tensor(json.load(f)["input_ids"])
    pm.train()
    logits = pm(input_ids=ids).logits
    V = logits.shape[-1]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1), reduction="sum")
    loss.backward()
    out["loss_sum"] = loss.detach().reshape(())
    for n, p in pm.named_parameters():
        if p.requires_grad:
            out["grad." + ours(n)] = p.grad.detach().clone()
    pm.eval()
    with torch.no_grad():
        out["logits"] = pm(input_ids=ids).logits.detach()
    save_file({k: v.float().contiguous() for k, v in out.items()}, os.path.join(d, "golden.safetensors"))
    # PEFT's own files: drop what the test does not read.
    for fn in ("README.md",):
        p = os.path.join(d, fn)
        if os.path.exists(p):
            os.remove(p)
    print(name, "loss", float(loss.detach()), "grads", sum(k.startswith("grad.") for k in out), flush=True)


class FixedMask(torch.nn.Module):
    """A dropout module with a known mask (already divided by 1 - p)."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask


def dropout_layer_case():
    torch.manual_seed(5)
    fin, fout, n, p = 24, 16, 5, 0.5

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(fin, fout, bias=True)

        def forward(self, x):
            return self.proj(x)

    net = Net()
    with torch.no_grad():
        net.proj.bias.add_(0.5)
    pm = get_peft_model(net, LoraConfig(target_modules=["proj"], use_dora=True, lora_dropout=p, r=3, lora_alpha=5,
                                        init_lora_weights=False))
    layer = pm.base_model.model.proj
    g = torch.Generator().manual_seed(9)
    mag = layer.lora_magnitude_vector["default"].weight
    with torch.no_grad():
        mag.mul_(1 + 0.3 * torch.randn(mag.shape, generator=g))
    mask = (torch.rand(n, fin, generator=g) >= p).float() / (1 - p)
    layer.lora_dropout["default"] = FixedMask(mask)
    pm.train()
    x = torch.randn(n, fin, generator=g, requires_grad=True)
    G = torch.randn(n, fout, generator=g)
    y = pm(x)
    (y * G).sum().backward()
    out = {"W": layer.base_layer.weight, "bias": layer.base_layer.bias, "A": layer.lora_A["default"].weight,
           "B": layer.lora_B["default"].weight, "m": mag, "x": x, "mask": mask, "xt": x * mask, "G": G, "out": y,
           "grad.A": layer.lora_A["default"].weight.grad, "grad.B": layer.lora_B["default"].weight.grad,
           "grad.m": mag.grad, "grad.x": x.grad, "scaling": torch.tensor(layer.scaling["default"])}
    d = os.path.join(HERE, "dora_dropout_layer")
    os.makedirs(d, exist_ok=True)
    save_file({k: v.detach().float().contiguous() for k, v in out.items()}, os.path.join(d, "golden.safetensors"))
    print("dora_dropout_layer: dropped", int((mask == 0).sum()), "of", mask.numel(), flush=True)


def main():
    import peft
    print("peft", peft.__version__, "torch", torch.__version__)
    for name, spec in CASES.items():
        model_case(name, spec)
    dropout_layer_case()


if __name__ == "__main__":
    main()
