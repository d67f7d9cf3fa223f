#!/usr/bin/python3
"""Golden values for pkg/adamw: torch.optim.AdamW with parameter groups, LambdaLR and
torch.nn.utils.clip_grad_norm_.

Run from the repository root with Debian's torch (python3-torch 1.13):

    /usr/bin/python3 pkg/adamw/testdata/gen_golden.py

It writes pkg/adamw/testdata/adamw_golden.json. Everything is deterministic (fixed seeds), so
running it again gives the same file. The Go tests read only the JSON.

Two scenarios:

* "hf_groups": HF Trainer's decay / no-decay split (Trainer.get_decay_parameter_names: no decay
  for names matching bias, layernorm, rmsnorm, (^|.)norm($|.), _norm($|.)), default betas/eps,
  weight_decay=0.1, a warmup+cosine LR (HF _get_cosine_schedule_with_warmup_lr_lambda) applied
  through torch's LambdaLR, and clip_grad_norm_(max_norm=1.0) before every step.
* "loraplus": LoRA+ groups as PEFT's create_loraplus_optimizer builds them (with the fix of
  huggingface/peft#3503, which routes the parameters of LoRA embedding modules to the
  "embedding" group; before it that group was always empty): groupA (lr), embedding
  (loraplus_lr_embedding), groupB (lr*ratio, decay), groupB_no_decay (lr*ratio, no decay).
  Non-default betas/eps, a linear warmup+decay LR, no clipping (the norm is still recorded).

Gradients are pseudo-random (torch.Generator) and scaled per step so that clipping is active on
some steps and not on others; they are stored in the JSON so Go feeds exactly the same values.
"""

import json
import math
import os
import re

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "adamw_golden.json")

# HF transformers Trainer.get_decay_parameter_names: forbidden_name_patterns (lower-cased name).
HF_NO_DECAY_PATTERNS = [re.compile(p) for p in
                        [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]]


def hf_decays(name):
    low = name.lower()
    return not any(p.search(low) for p in HF_NO_DECAY_PATTERNS)


# HF transformers.optimization._get_cosine_schedule_with_warmup_lr_lambda (num_cycles=0.5).
def hf_cosine_lambda(step, warmup, total, num_cycles=0.5):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


# HF transformers.optimization._get_linear_schedule_with_warmup_lr_lambda.
def hf_linear_lambda(step, warmup, total):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    return max(0.0, float(total - step) / float(max(1, total - warmup)))


def hf_groups(specs, lr, wd, _opts):
    """Two groups as HF Trainer.create_optimizer builds them."""
    decay = [n for n, _ in specs if hf_decays(n)]
    no_decay = [n for n, _ in specs if not hf_decays(n)]
    return [
        {"name": "decay", "params": decay, "lr": lr, "weight_decay": wd},
        {"name": "no_decay", "params": no_decay, "lr": lr, "weight_decay": 0.0},
    ]


def loraplus_groups(specs, lr, wd, opts):
    """PEFT create_loraplus_optimizer grouping (after huggingface/peft#3503).

    The embedding test in PEFT is "the parameter's module is a LoRA Embedding"; with HF/PEFT
    parameter names that is the module holding lora_embedding_A / lora_embedding_B.
    One deliberate difference, mirrored by the Go default: PEFT's decay list is transformers'
    get_parameter_names(model, ALL_LAYERNORM_LAYERS) minus "bias", which exempts nn.LayerNorm
    by type but not Llama's RMSNorm; here (as in Go's default NoDecay) the HF Trainer name rule
    decides, so model.norm.weight gets no decay. Go's BiasNoDecay gives PEFT's choice.
    """
    ratio = opts["loraplus_lr_ratio"]
    emb_lr = opts["loraplus_lr_embedding"]
    groups = {"groupA": [], "embedding": [], "groupB": [], "groupB_no_decay": []}
    for name, shape in specs:
        if "lora_embedding_A" in name or "lora_embedding_B" in name:
            groups["embedding"].append(name)
        elif "lora_B" in name or len(shape) == 1:
            # PEFT: decay_parameters = HF decay names minus names containing "bias".
            if hf_decays(name):
                groups["groupB"].append(name)
            else:
                groups["groupB_no_decay"].append(name)
        else:
            groups["groupA"].append(name)
    return [
        {"name": "groupA", "params": groups["groupA"], "lr": lr, "weight_decay": wd},
        {"name": "embedding", "params": groups["embedding"], "lr": emb_lr, "weight_decay": wd},
        {"name": "groupB", "params": groups["groupB"], "lr": lr * ratio, "weight_decay": wd},
        {"name": "groupB_no_decay", "params": groups["groupB_no_decay"], "lr": lr * ratio,
         "weight_decay": 0.0},
    ]


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def run(sc):
    gen = torch.Generator().manual_seed(sc["seed"])
    specs = sc["params"]
    params = {}
    for name, shape in specs:
        params[name] = torch.nn.Parameter(torch.randn(shape, generator=gen, dtype=torch.float32))
    init = {n: flat(p) for n, p in params.items()}

    groups = sc["grouping"](specs, sc["lr"], sc["weight_decay"], sc)
    torch_groups = [{"params": [params[n] for n in g["params"]], "lr": g["lr"],
                     "weight_decay": g["weight_decay"]} for g in groups if g["params"]]
    # gen_adam_l2.py runs the same scenarios through torch.optim.Adam (coupled L2 decay).
    opt_class = sc.get("optimizer", torch.optim.AdamW)
    opt = opt_class(torch_groups, lr=sc["lr"], betas=(sc["beta1"], sc["beta2"]),
                    eps=sc["eps"], weight_decay=sc["weight_decay"])
    lam = sc["lambda"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)

    steps = sc["steps"]
    grads, lrs, norms, clipped_steps, snaps = [], [], [], [], {}
    for s in range(steps):
        # Scale in [0.02, 20], cycling, so the global norm crosses max_grad_norm back and forth.
        scale = 0.02 * 10.0 ** (3.0 * (s % 7) / 6.0)
        g_step = {}
        for name, shape in specs:
            g = torch.randn(shape, generator=gen, dtype=torch.float32) * scale
            g_step[name] = flat(g)
            params[name].grad = g.clone()
        grads.append(g_step)
        # The learning rate this step uses (HF logs the same): base lr times lambda(s).
        lrs.append(sc["lr"] * lam(s))
        all_params = [params[n] for n, _ in specs]
        if sc["max_grad_norm"] > 0:
            norm = torch.nn.utils.clip_grad_norm_(all_params, sc["max_grad_norm"])
        else:
            norm = torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in all_params]), 2.0)
        norms.append(float(norm))
        clipped_steps.append(bool(float(norm) > sc["max_grad_norm"] > 0))
        opt.step()
        sched.step()
        t = s + 1
        if t in sc["snapshots"]:
            snaps[str(t)] = {n: flat(p) for n, p in params.items()}

    state = {}
    for name, p in params.items():
        st = opt.state[p]
        state[name] = {"exp_avg": flat(st["exp_avg"]), "exp_avg_sq": flat(st["exp_avg_sq"]),
                       "step": int(float(st["step"]))}

    return {
        "description": sc["description"],
        "config": {
            "learning_rate": sc["lr"], "adam_beta1": sc["beta1"], "adam_beta2": sc["beta2"],
            "adam_epsilon": sc["eps"], "weight_decay": sc["weight_decay"],
            "max_grad_norm": sc["max_grad_norm"],
            "coupled_weight_decay": sc.get("optimizer") is torch.optim.Adam,
            "loraplus_lr_ratio": sc.get("loraplus_lr_ratio", 0.0),
            "loraplus_lr_embedding": sc.get("loraplus_lr_embedding", 0.0),
        },
        "params": [{"name": n, "shape": list(shape)} for n, shape in specs],
        "groups": [{"name": g["name"], "params": g["params"], "lr": g["lr"],
                    "weight_decay": g["weight_decay"]} for g in groups],
        "init": init,
        "grads": grads,
        "lr": lrs,
        "grad_norm": norms,
        "clipped": clipped_steps,
        "snapshots": snaps,
        "final_state": state,
    }


SCENARIOS = {
    "hf_groups": {
        "description": "HF Trainer decay/no-decay groups, default betas/eps, wd=0.1, "
                       "warmup 5 + cosine over 50 steps, clip_grad_norm_(1.0)",
        "seed": 1234,
        "params": [
            ("model.layers.0.self_attn.q_proj.weight", (8, 6)),
            ("model.layers.0.self_attn.q_proj.bias", (8,)),
            ("model.layers.0.input_layernorm.weight", (6,)),
            ("model.layers.0.post_attention_layernorm.weight", (6,)),
            ("model.norm.weight", (6,)),
            ("lm_head.weight", (10, 6)),
        ],
        "grouping": hf_groups,
        "lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1,
        "max_grad_norm": 1.0,
        "lambda": lambda s: hf_cosine_lambda(s, 5, 50),
        "steps": 50,
        "snapshots": [1, 2, 10, 25, 50],
    },
    "loraplus": {
        "description": "LoRA+ groups (PEFT create_loraplus_optimizer, ratio 16, embedding lr 5e-3), "
                       "betas (0.8, 0.95), eps 1e-6, wd=0.05, warmup 3 + linear over 50 steps, no clipping",
        "seed": 99,
        "params": [
            ("base_model.model.model.embed_tokens.lora_embedding_A", (4, 12)),
            ("base_model.model.model.embed_tokens.lora_embedding_B", (6, 4)),
            ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", (4, 6)),
            ("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", (6, 4)),
            ("base_model.model.model.layers.0.self_attn.v_proj.bias", (6,)),
            ("base_model.model.model.layers.0.mlp.scale", (6,)),
            ("base_model.model.model.norm.weight", (6,)),
            ("base_model.model.lm_head.weight", (12, 6)),
        ],
        "grouping": loraplus_groups,
        "loraplus_lr_ratio": 16.0, "loraplus_lr_embedding": 5e-3,
        "lr": 2e-3, "beta1": 0.8, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.05,
        "max_grad_norm": 0.0,
        "lambda": lambda s: hf_linear_lambda(s, 3, 50),
        "steps": 50,
        "snapshots": [1, 2, 10, 25, 50],
    },
}


def write_golden(path, generator, scenarios):
    """Runs every scenario on one torch thread and writes the golden file atomically."""
    torch.set_num_threads(1)
    out = {
        "generator": generator,
        "torch_version": torch.__version__,
        "scenarios": {name: run(sc) for name, sc in scenarios.items()},
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)
    print("wrote", path)


def main():
    write_golden(OUT, "pkg/adamw/testdata/gen_golden.py", SCENARIOS)


if __name__ == "__main__":
    main()
