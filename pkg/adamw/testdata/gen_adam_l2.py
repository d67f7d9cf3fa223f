#!/usr/bin/env python3
"""Golden values for pkg/adamw's CoupledWeightDecay: torch.optim.Adam(weight_decay=wd), Adam with
L2 regularisation — the decay is added to the gradient (g + wd·p) before the moments, the
coupling that AdamW removes (Loshchilov & Hutter, Decoupled Weight Decay Regularization, 2019).

Run from the repository root with the test venv's torch (2.x):

    ~/.cache/loralab/venv-test/bin/python pkg/adamw/testdata/gen_adam_l2.py

It writes pkg/adamw/testdata/adam_l2_golden.json in the format of adamw_golden.json (the
scenario runner of gen_golden.py, given torch.optim.Adam instead of torch.optim.AdamW), so the
Go tests read both files the same way. Deterministic: fixed seeds.

Two scenarios, both with a weight decay large enough that the L2 term dominates the small
gradients of some steps (gradients cycle through scales 0.02–20):

* "adam_l2_hf_groups": HF Trainer's decay / no-decay groups, wd=0.5, warmup+cosine,
  clip_grad_norm_(1.0) — clipping acts on the loss gradient only; Adam adds wd·p afterwards.
* "adam_l2_loraplus": PEFT's LoRA+ groups (lora_B at 16× the rate), wd=0.2, no clipping: in
  every group the decay joins the gradient and is divided by sqrt(v̂) with it, then scaled by the
  group's rate.
"""

import os

import torch

import gen_golden as g

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "adam_l2_golden.json")

SCENARIOS = {
    "adam_l2_hf_groups": dict(g.SCENARIOS["hf_groups"], optimizer=torch.optim.Adam, weight_decay=0.5, seed=4321,
                              description="torch.optim.Adam (L2 weight decay 0.5) with HF Trainer decay/no-decay "
                                          "groups, default betas/eps, warmup 5 + cosine over 50 steps, "
                                          "clip_grad_norm_(1.0)"),
    "adam_l2_loraplus": dict(g.SCENARIOS["loraplus"], optimizer=torch.optim.Adam, weight_decay=0.2, seed=77,
                             description="torch.optim.Adam (L2 weight decay 0.2) with LoRA+ groups (ratio 16, "
                                         "embedding lr 5e-3), betas (0.8, 0.95), eps 1e-6, warmup 3 + linear "
                                         "over 50 steps, no clipping"),
}


def main():
    g.write_golden(OUT, "pkg/adamw/testdata/gen_adam_l2.py", SCENARIOS)

if __name__ == "__main__":
    main()
