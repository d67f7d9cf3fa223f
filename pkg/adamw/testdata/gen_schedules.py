#!/usr/bin/python3
"""Golden values for pkg/adamw schedules: HF transformers get_scheduler semantics.

transformers is not installed here, so the lambdas below restate, in plain Python, the
formulas of transformers/optimization.py (function names cited on each) and the warmup rule of
TrainingArguments.get_warmup_steps. torch's LambdaLR multiplies each group's initial lr by
lambda(last_epoch); the Trainer steps the scheduler after every optimizer step, so optimizer
step s (0-based) runs with base_lr * lambda(s).

Run from the repository root:

    /usr/bin/python3 pkg/adamw/testdata/gen_schedules.py

It writes pkg/adamw/testdata/schedules_golden.json (deterministic).
"""

import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "schedules_golden.json")


def warmup_part(step, warmup):
    # Shared first branch of every HF lambda with warmup.
    return float(step) / float(max(1, warmup))


# _get_constant_lambda
def constant(step, **_):
    return 1


# _get_constant_schedule_with_warmup_lr_lambda
def constant_with_warmup(step, *, warmup, **_):
    if step < warmup:
        return float(step) / float(max(1.0, warmup))
    return 1.0


# _get_linear_schedule_with_warmup_lr_lambda
def linear(step, *, warmup, total, **_):
    if step < warmup:
        return warmup_part(step, warmup)
    return max(0.0, float(total - step) / float(max(1, total - warmup)))


# _get_cosine_schedule_with_warmup_lr_lambda (num_cycles=0.5, min_lr_rate=0.0)
def cosine(step, *, warmup, total, num_cycles=0.5, min_lr_rate=0.0, **_):
    if step < warmup:
        return warmup_part(step, warmup)
    progress = float(step - warmup) / float(max(1, total - warmup))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


# get_cosine_with_min_lr_schedule_with_warmup: min_lr_rate = min_lr / optimizer.defaults["lr"],
# then _get_cosine_schedule_with_warmup_lr_lambda.
def cosine_with_min_lr(step, *, warmup, total, base_lr, min_lr=None, min_lr_rate=None, **_):
    if min_lr is not None and min_lr_rate is not None:
        raise ValueError("Only one of min_lr or min_lr_rate should be set")
    if min_lr is not None:
        min_lr_rate = min_lr / base_lr
    elif min_lr_rate is None:
        raise ValueError("One of min_lr or min_lr_rate should be set")
    return cosine(step, warmup=warmup, total=total, min_lr_rate=min_lr_rate)


# get_inverse_sqrt_schedule: timescale = num_warmup_steps or 10_000 (get_scheduler passes no
# timescale), then _get_inverse_sqrt_schedule_lr_lambda.
def inverse_sqrt(step, *, warmup, **_):
    timescale = warmup or 10_000
    if step < warmup:
        return warmup_part(step, warmup)
    shift = timescale - warmup
    return 1.0 / math.sqrt((step + shift) / timescale)


# TrainingArguments.get_warmup_steps
def get_warmup_steps(total, warmup_steps, warmup_ratio):
    return warmup_steps if warmup_steps > 0 else math.ceil(total * warmup_ratio)


LAMBDAS = {
    "constant": constant,
    "constant_with_warmup": constant_with_warmup,
    "linear": linear,
    "cosine": cosine,
    "cosine_with_min_lr": cosine_with_min_lr,
    "inverse_sqrt": inverse_sqrt,
}

# (total steps, warmup_steps, warmup_ratio)
COMBOS = [
    (50, 5, 0.0),
    (30, 0, 0.1),     # ceil(3.0) = 3
    (100, 0, 0.07),   # ceil(7.000000000000001) = 8: HF rounds float noise up
    (100, 0, 0.03),   # ceil(3.0) = 3
    (20, 0, 0.25),
    (10, 0, 0.0),     # no warmup
    (7, 10, 0.0),     # warmup longer than training
    (1, 0, 0.0),
    (40, 2, 0.5),     # warmup_steps wins over warmup_ratio
    (200, 20, 0.0),
]


def main():
    base_lr = 2e-4
    cases = []
    for sched, fn in LAMBDAS.items():
        extras = [{}]
        if sched == "cosine_with_min_lr":
            extras = [{"min_lr_rate": 0.1}, {"min_lr": 1e-5}]
        for total, wsteps, wratio in COMBOS:
            for extra in extras:
                warmup = get_warmup_steps(total, wsteps, wratio)
                steps = list(range(total + 3))  # a few steps past the end, too
                mult = [float(fn(s, warmup=warmup, total=total, base_lr=base_lr, **extra)) for s in steps]
                cases.append({
                    "type": sched, "base_lr": base_lr, "total_steps": total,
                    "warmup_steps": wsteps, "warmup_ratio": wratio,
                    "min_lr": extra.get("min_lr", 0.0), "min_lr_rate": extra.get("min_lr_rate", 0.0),
                    "resolved_warmup": warmup,
                    "multiplier": mult,
                    "lr": [base_lr * m for m in mult],
                })
    out = {"generator": "pkg/adamw/testdata/gen_schedules.py", "cases": cases}
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, OUT)
    print("wrote", OUT, len(cases), "cases")


if __name__ == "__main__":
    main()
