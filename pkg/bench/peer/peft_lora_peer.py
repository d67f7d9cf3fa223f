#!/usr/bin/env python3
"""The same LoRA training step as ../../../../shared/reference/torch_lora_ref.py, but through the
real libraries: transformers' LlamaForCausalLM (random weights, the same shape) with PEFT's LoRA
(get_peft_model) on q/k/v/o/gate/up/down, AdamW (lr 2e-4, weight decay 0.01), the first half of
every row's labels masked. Same arguments and the same JSON line as torch_lora_ref.py, so that
peerbench runs it with -script:

    go run ./pkg/bench/cmd/peerbench -python $LORALAB_CACHE/venv-test/bin/python \\
        -script pkg/bench/peer/peft_lora_peer.py

Differences from the plain-PyTorch reference, all on the side of HF's implementation: the
embedding is tied to no head (a separate lm_head, as there), attention is
scaled_dot_product_attention (transformers' "sdpa" default on CPU), the loss is transformers'
ForCausalLMLoss (shifted cross-entropy, ignore_index -100).
"""
import argparse, json, os, time, warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

p = argparse.ArgumentParser()
for k, v in dict(hidden=256, layers=4, heads=8, inter=688, vocab=4096, seq=256, batch=8, steps=10, warmup=2, r=16).items():
    p.add_argument("--" + k, type=int, default=v)
p.add_argument("--alpha", type=float, default=32.0)
p.add_argument("--threads", type=int, default=0)
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)

from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

cfg = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.inter, num_hidden_layers=a.layers,
                  num_attention_heads=a.heads, num_key_value_heads=a.heads, max_position_embeddings=max(2048, a.seq),
                  rms_norm_eps=1e-6, tie_word_embeddings=False)
model = LlamaForCausalLM(cfg)
model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=a.r, lora_alpha=a.alpha, lora_dropout=0.05,
                                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
model.train()
params = [q for q in model.parameters() if q.requires_grad]
opt = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.01)
ids = torch.randint(0, a.vocab, (a.batch, a.seq))
labels = ids.clone()
labels[:, : a.seq // 2] = -100


def step():
    loss = model(input_ids=ids, labels=labels).loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(a.warmup):
    step()
times = []
for _ in range(a.steps):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
times.sort()
med = times[len(times) // 2]
ntr = sum(q.numel() for q in params)
nall = sum(q.numel() for q in model.parameters())
import peft, transformers  # noqa: E402
print(json.dumps(dict(torch=f"{torch.__version__} + transformers {transformers.__version__} + peft {peft.__version__}",
                      threads=torch.get_num_threads(), step_s_median=round(med, 4),
                      tokens_per_s=round(a.batch * a.seq / med, 1), trainable=ntr, total=nall)))
