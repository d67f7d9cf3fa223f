#!/usr/bin/env python3
"""Peer for the real-shape benchmark: a LoRA training step in plain PyTorch (CPU).

A copy of ../shared/reference/torch_lora_ref.py (same math: HF modeling_llama's RMSNorm, RoPE,
SwiGLU MLP, causal attention; PEFT LoRA with scaling alpha/r, dropout 0.05 on the LoRA input,
A kaiming-uniform, B zeros, base frozen; AdamW lr 2e-4, weight decay 0.01; first half of each
row's labels ignored) extended to the Qwen2 shapes: grouped-query attention (--kv-heads), q/k/v
biases (--qkv-bias 1), tied input/output embeddings (--tied 1) and --rope-theta.
Prints one JSON line: tokens/s of full steps (forward + backward + AdamW) after warm-up.
Usage: torch_lora_peer.py --hidden 896 --layers 24 --heads 14 --kv-heads 2 --inter 4864
       --vocab 151936 --qkv-bias 1 --tied 1 --rope-theta 1e6 --seq 512 --batch 1 --steps 2
"""
import argparse, math, time, json
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
for k, v in dict(hidden=256, layers=4, heads=8, kv_heads=0, inter=688, vocab=4096, seq=256, batch=8,
                 steps=10, warmup=2, r=16, qkv_bias=0, tied=0).items():
    p.add_argument("--" + k.replace("_", "-"), type=int, default=v)
p.add_argument("--alpha", type=float, default=32.0)
p.add_argument("--rope-theta", type=float, default=10000.0)
p.add_argument("--eps", type=float, default=1e-6)
p.add_argument("--threads", type=int, default=0)
a = p.parse_args()
a.kv_heads = a.kv_heads or a.heads
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)

class LoraLinear(nn.Module):
    def __init__(s, i, o, r, alpha, bias=False, drop=0.05):
        super().__init__()
        s.base = nn.Linear(i, o, bias=bias); s.base.requires_grad_(False)
        s.A = nn.Linear(i, r, bias=False); s.B = nn.Linear(r, o, bias=False)
        nn.init.kaiming_uniform_(s.A.weight, a=math.sqrt(5)); nn.init.zeros_(s.B.weight)
        s.scale = alpha / r; s.drop = nn.Dropout(drop)
    def forward(s, x):
        return s.base(x) + s.B(s.A(s.drop(x))) * s.scale

class RMSNorm(nn.Module):
    def __init__(s, d, eps):
        super().__init__(); s.w = nn.Parameter(torch.ones(d), requires_grad=False); s.eps = eps
    def forward(s, x):
        return s.w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + s.eps))

def rope(T, hd, base):
    inv = 1.0 / (base ** (torch.arange(0, hd, 2).float() / hd))
    f = torch.outer(torch.arange(T).float(), inv); e = torch.cat([f, f], -1)
    return e.cos(), e.sin()

def rot(x):
    x1, x2 = x.chunk(2, -1); return torch.cat([-x2, x1], -1)

class Layer(nn.Module):
    def __init__(s, c):
        super().__init__(); H = c.hidden; s.nh, s.nkv = c.heads, c.kv_heads; s.hd = H // c.heads
        L = lambda i, o, b=False: LoraLinear(i, o, c.r, c.alpha, bias=b)
        qb = bool(c.qkv_bias)
        s.q, s.k, s.v = L(H, s.nh * s.hd, qb), L(H, s.nkv * s.hd, qb), L(H, s.nkv * s.hd, qb)
        s.o = L(s.nh * s.hd, H)
        s.g, s.u, s.d = L(H, c.inter), L(H, c.inter), L(c.inter, H)
        s.n1, s.n2 = RMSNorm(H, c.eps), RMSNorm(H, c.eps)
    def forward(s, x, cos, sin, mask):
        B, T, H = x.shape; h = s.n1(x)
        q = s.q(h).view(B, T, s.nh, s.hd).transpose(1, 2)
        k = s.k(h).view(B, T, s.nkv, s.hd).transpose(1, 2)
        v = s.v(h).view(B, T, s.nkv, s.hd).transpose(1, 2)
        q = q * cos + rot(q) * sin; k = k * cos + rot(k) * sin
        if s.nkv != s.nh:  # grouped-query attention: query head h uses key/value head h // group
            k = k.repeat_interleave(s.nh // s.nkv, dim=1); v = v.repeat_interleave(s.nh // s.nkv, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(s.hd) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, s.nh * s.hd)
        x = x + s.o(y); h = s.n2(x)
        return x + s.d(F.silu(s.g(h)) * s.u(h))

class Model(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.emb = nn.Embedding(c.vocab, c.hidden); s.emb.weight.requires_grad_(False)
        s.layers = nn.ModuleList([Layer(c) for _ in range(c.layers)]); s.norm = RMSNorm(c.hidden, c.eps)
        s.tied = bool(c.tied); s.theta = c.rope_theta
        if not s.tied:
            s.head = nn.Linear(c.hidden, c.vocab, bias=False); s.head.weight.requires_grad_(False)
    def forward(s, ids):
        T = ids.shape[1]; cos, sin = rope(T, s.layers[0].hd, s.theta)
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = s.emb(ids)
        for l in s.layers: x = l(x, cos, sin, mask)
        h = s.norm(x)
        return F.linear(h, s.emb.weight) if s.tied else s.head(h)

m = Model(a); m.train()
params = [p_ for p_ in m.parameters() if p_.requires_grad]
opt = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.01)
ids = torch.randint(0, a.vocab, (a.batch, a.seq)); labels = ids.clone(); labels[:, : a.seq // 2] = -100
def step():
    logits = m(ids)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab), labels[:, 1:].reshape(-1), ignore_index=-100)
    opt.zero_grad(); loss.backward(); opt.step(); return loss.item()
for _ in range(a.warmup): step()
times = []
for _ in range(a.steps):
    t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
times.sort(); med = times[len(times) // 2]
ntr = sum(p_.numel() for p_ in params); nall = sum(p_.numel() for p_ in m.parameters())
print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), step_s_median=round(med, 4),
                      tokens_per_s=round(a.batch * a.seq / med, 1), trainable=ntr, total=nall)))
