#!/usr/bin/env python3
"""Inference peer: a Llama/Qwen2-shaped model in plain PyTorch (CPU, float32, no grad).

Measures (1) forward tokens/s: logits of a [batch, seq] batch, median of --reps runs after one
warm-up; (2) KV-cache greedy decoding new tokens/s at batch 1: a --prompt-token prompt is
prefilled into a preallocated cache (giving the first new token), then the other --new - 1 are
decoded one at a time (argmax); the time includes the prefill, as llama.Runner.Generate's does.
Same math as torch_lora_peer.py (HF modeling_llama: RMSNorm, RoPE with rotate_half, SwiGLU,
grouped-query attention), random weights (speed only). Attention uses
F.scaled_dot_product_attention where torch has it (>= 2.0), else matmul + softmax.
Prints one JSON line (wall-clock rates and the CPU seconds, all threads, of one forward / one decode). Usage (the Go side: llama.BenchmarkForwardTiny / BenchmarkGenerateTiny):
  torch_infer_peer.py --threads 1        # the tiny shape: hidden 256, 4 layers, 8 heads
  torch_infer_peer.py --hidden 896 --layers 24 --heads 14 --kv-heads 2 --inter 4864 \
      --vocab 151936 --qkv-bias 1 --tied 1 --rope-theta 1e6 --batch 1 --seq 512  # Qwen2.5-0.5B shape
"""
import argparse, json, math, statistics, time
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
for k, v in dict(hidden=256, layers=4, heads=8, kv_heads=0, inter=688, vocab=4096, seq=256, batch=8,
                 reps=3, prompt=32, new=96, qkv_bias=0, tied=0, threads=0).items():
    p.add_argument("--" + k.replace("_", "-"), type=int, default=v)
p.add_argument("--rope-theta", type=float, default=10000.0)
p.add_argument("--eps", type=float, default=1e-6)
a = p.parse_args()
a.kv_heads = a.kv_heads or a.heads
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)
hd = a.hidden // a.heads
sdpa = getattr(F, "scaled_dot_product_attention", None)


class RMSNorm(nn.Module):
    def __init__(s, d):
        super().__init__(); s.w = nn.Parameter(torch.ones(d))

    def forward(s, x):
        return s.w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + a.eps))


def rot(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), -1)


class Layer(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1, s.ln2 = RMSNorm(a.hidden), RMSNorm(a.hidden)
        s.q = nn.Linear(a.hidden, a.heads * hd, bias=bool(a.qkv_bias))
        s.k = nn.Linear(a.hidden, a.kv_heads * hd, bias=bool(a.qkv_bias))
        s.v = nn.Linear(a.hidden, a.kv_heads * hd, bias=bool(a.qkv_bias))
        s.o = nn.Linear(a.heads * hd, a.hidden, bias=False)
        s.g = nn.Linear(a.hidden, a.inter, bias=False)
        s.u = nn.Linear(a.hidden, a.inter, bias=False)
        s.d = nn.Linear(a.inter, a.hidden, bias=False)

    def forward(s, x, cos, sin, mask, cache, start):
        B, T, _ = x.shape
        h = s.ln1(x)
        q = s.q(h).view(B, T, a.heads, hd).transpose(1, 2)
        k = s.k(h).view(B, T, a.kv_heads, hd).transpose(1, 2)
        v = s.v(h).view(B, T, a.kv_heads, hd).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        if cache is not None:
            cache[0][:, :, start:start + T] = k
            cache[1][:, :, start:start + T] = v
            k, v = cache[0][:, :, :start + T], cache[1][:, :, :start + T]
        rep = a.heads // a.kv_heads
        if rep > 1:
            k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        if sdpa is not None:
            att = sdpa(q, k, v, attn_mask=mask)
        else:
            sc = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            att = torch.softmax(sc.masked_fill(~mask, float("-inf")), -1) @ v
        x = x + s.o(att.transpose(1, 2).reshape(B, T, -1))
        h = s.ln2(x)
        return x + s.d(F.silu(s.g(h)) * s.u(h))


class Model(nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = nn.Embedding(a.vocab, a.hidden)
        s.layers = nn.ModuleList(Layer() for _ in range(a.layers))
        s.norm = RMSNorm(a.hidden)
        s.head = nn.Linear(a.hidden, a.vocab, bias=False)
        if a.tied:
            s.head.weight = s.emb.weight
        inv = 1.0 / (a.rope_theta ** (torch.arange(0, hd, 2).float() / hd))
        f = torch.outer(torch.arange(a.seq + a.prompt + a.new).float(), inv)
        f = torch.cat((f, f), -1)
        s.cos, s.sin = f.cos(), f.sin()

    def forward(s, ids, start=0, caches=None):
        T = ids.shape[1]
        S = start + T
        mask = torch.ones(T, S, dtype=torch.bool).tril(start)
        cos, sin = s.cos[start:S], s.sin[start:S]
        x = s.emb(ids)
        for i, l in enumerate(s.layers):
            x = l(x, cos, sin, mask, caches[i] if caches else None, start)
        return s.head(s.norm(x))


m = Model().eval()
res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "sdpa": sdpa is not None}
with torch.inference_mode():
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))
    m(ids)
    times, cpu = [], []
    for _ in range(a.reps):
        t, c = time.perf_counter(), time.process_time()
        m(ids)
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    res["forward_tokens_per_s"] = a.batch * a.seq / statistics.median(times)
    res["forward_cpu_s"] = statistics.median(cpu)  # CPU seconds (all threads) per forward

    def decode():
        L = a.prompt + a.new
        caches = [(torch.zeros(1, a.kv_heads, L, hd), torch.zeros(1, a.kv_heads, L, hd)) for _ in range(a.layers)]
        prompt = torch.randint(0, a.vocab, (1, a.prompt))
        t, c = time.perf_counter(), time.process_time()  # prefill (gives the first new token) + a.new-1 steps, as Go's Generate
        nxt = m(prompt, 0, caches)[:, -1].argmax(-1, keepdim=True)
        for i in range(a.new - 1):
            nxt = m(nxt, a.prompt + i, caches)[:, -1].argmax(-1, keepdim=True)
        return time.perf_counter() - t, time.process_time() - c

    decode()
    best = min(decode() for _ in range(2))
    res["decode_new_tokens_per_s"], res["decode_cpu_s"] = a.new / best[0], best[1]
print(json.dumps(res))
