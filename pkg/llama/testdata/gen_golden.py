#!/usr/bin/python3
"""Writes tiny random Llama/Qwen2/Qwen3/Mistral checkpoints and golden logits for pkg/llama's
parity tests.

An independent plain-PyTorch implementation of HF transformers' modeling_llama / modeling_qwen2 /
modeling_qwen3 / modeling_mistral math (RMSNorm, rotary embeddings with rotate_half and the
rope_scaling types linear, llama3, yarn and dynamic as in modeling_rope_utils, repeat_kv
grouped-query attention, Qwen3's per-head q/k RMSNorm, sliding-window attention, SiLU MLP,
optional q/k/v bias, tied embeddings, explicit position ids, block-diagonal causal mask for
packed rows). Run with Debian's python3-torch:  /usr/bin/python3 gen_golden.py [case ...]
(no case: all of them).
Outputs, per case, a directory with config.json, model.safetensors (or shards + index),
inputs.json and golden.safetensors (logits float32).
"""
import json, math, os, struct, sys
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

ST_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64", torch.int32: "I32",
             torch.int8: "I8", torch.uint8: "U8"}


def write_safetensors(path, tensors, metadata=None):
    """safetensors by hand: u64 LE header length, JSON header, raw little-endian data."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    inv = {v: k for k, v in ST_DTYPES.items()}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        dt = inv[e["dtype"]]
        if dt == torch.bfloat16:
            t = torch.frombuffer(bytearray(data[b:en]), dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(bytearray(data[b:en]), dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out


# ---------------------------------------------------------------- reference model (HF math)

def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def qkv_bias(c):
    return c.get("model_type") == "qwen2" or c.get("attention_bias", False)


def o_bias(c):
    return c.get("model_type") != "qwen2" and c.get("attention_bias", False)


def qk_norm(c):
    return c.get("model_type") == "qwen3"


def layer_window(c, l):
    """The sliding window of layer l, or None: Mistral's sliding_window on every layer; Qwen2 /
    Qwen3 with use_sliding_window on layers >= max_window_layers (transformers' layer_types)."""
    w = c.get("sliding_window")
    if c.get("model_type") in ("qwen2", "qwen3"):
        if not c.get("use_sliding_window") or l < c.get("max_window_layers", 0):
            return None
    return w


def param_shapes(c):
    H, I, V, hd = c["hidden_size"], c["intermediate_size"], c["vocab_size"], head_dim(c)
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    s = {"model.embed_tokens.weight": (V, H)}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        s[p + "self_attn.q_proj.weight"] = (nh * hd, H)
        if qkv_bias(c): s[p + "self_attn.q_proj.bias"] = (nh * hd,)
        s[p + "self_attn.k_proj.weight"] = (nkv * hd, H)
        if qkv_bias(c): s[p + "self_attn.k_proj.bias"] = (nkv * hd,)
        s[p + "self_attn.v_proj.weight"] = (nkv * hd, H)
        if qkv_bias(c): s[p + "self_attn.v_proj.bias"] = (nkv * hd,)
        s[p + "self_attn.o_proj.weight"] = (H, nh * hd)
        if o_bias(c): s[p + "self_attn.o_proj.bias"] = (H,)
        if qk_norm(c):
            s[p + "self_attn.q_norm.weight"] = (hd,)
            s[p + "self_attn.k_norm.weight"] = (hd,)
        s[p + "mlp.gate_proj.weight"] = (I, H)
        s[p + "mlp.up_proj.weight"] = (I, H)
        s[p + "mlp.down_proj.weight"] = (H, I)
        s[p + "input_layernorm.weight"] = (H,)
        s[p + "post_attention_layernorm.weight"] = (H,)
    s["model.norm.weight"] = (H,)
    if not c.get("tie_word_embeddings", False):
        s["lm_head.weight"] = (V, H)
    return s


def random_weights(c, gen):
    w = {}
    for n, shp in param_shapes(c).items():
        if n.endswith("norm.weight"):
            w[n] = 1.0 + 0.1 * torch.randn(shp, generator=gen)
        elif n.endswith(".bias"):
            w[n] = 0.1 * torch.randn(shp, generator=gen)
        else:
            w[n] = 0.08 * torch.randn(shp, generator=gen)
    return w


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_inv_freq(c, seq_len):
    """inv_freq and attention_factor as modeling_rope_utils computes them for the config's
    rope_scaling (seq_len: max(position_ids) + 1, used by "dynamic")."""
    d = head_dim(c)
    base = c.get("rope_theta", 10000.0)
    rs = c.get("rope_scaling") or {}
    kind = rs.get("rope_type") or rs.get("type") or "default"
    exps = torch.arange(0, d, 2, dtype=torch.int64).float() / d
    if kind in ("default", "linear"):
        return 1.0 / (base ** exps), 1.0
    if kind == "llama3":
        inv = 1.0 / (base ** exps)
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        lo_wl, hi_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        out = torch.where(wl > lo_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wl < hi_wl) * ~(wl > lo_wl)
        return torch.where(medium, smoothed, out), 1.0
    if kind == "yarn":
        factor = rs["factor"]
        orig = rs.get("original_max_position_embeddings") or c["max_position_embeddings"]

        def get_mscale(scale, mscale=1.0):
            return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0

        att = rs.get("attention_factor")
        if att is None:
            if rs.get("mscale") and rs.get("mscale_all_dim"):
                att = get_mscale(factor, rs["mscale"]) / get_mscale(factor, rs["mscale_all_dim"])
            else:
                att = get_mscale(factor)
        beta_fast, beta_slow = rs.get("beta_fast") or 32, rs.get("beta_slow") or 1

        def corr_dim(rot):
            return (d * math.log(orig / (rot * 2 * math.pi))) / (2 * math.log(base))

        low, high = corr_dim(beta_fast), corr_dim(beta_slow)
        if rs.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, d - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(d // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        pos_freqs = base ** exps
        extra, inter = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
        keep = 1 - ramp
        return inter * (1 - keep) + extra * keep, att
    if kind == "dynamic":
        factor, mpe = rs["factor"], c["max_position_embeddings"]
        if seq_len > mpe:
            base = base * ((factor * seq_len / mpe) - (factor - 1)) ** (d / (d - 2))
        return 1.0 / (base ** exps), 1.0
    raise ValueError(kind)


def rope_cos_sin(c, position_ids):
    rs = c.get("rope_scaling")
    inv_freq, att = rope_inv_freq(c, int(position_ids.max()) + 1)
    pos = position_ids.float()
    if rs and (rs.get("rope_type") or rs.get("type")) == "linear":
        pos = pos / rs["factor"]
    freqs = pos[:, :, None] * inv_freq[None, None, :]  # [B,T,d/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * att, emb.sin() * att


def repeat_kv(x, n_rep):
    b, nkv, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, nkv, n_rep, t, d).reshape(b, nkv * n_rep, t, d)


class Hooks:
    """Identity hooks; the LoRA reference overrides them."""
    def linear(self, name, x, y):
        return y

    def embedding(self, name, ids, y):
        return y

    def weight(self, name, w):
        return w


def forward(c, w, input_ids, position_ids=None, segment_ids=None, hooks=None):
    hooks = hooks or Hooks()
    B, T = input_ids.shape
    H, hd = c["hidden_size"], head_dim(c)
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    eps = c.get("rms_norm_eps", 1e-6)
    if position_ids is None:
        position_ids = torch.arange(T)[None, :].expand(B, T)
    allowed = torch.ones(T, T, dtype=torch.bool).tril()[None].expand(B, T, T)
    if segment_ids is not None:
        allowed = allowed & (segment_ids[:, :, None] == segment_ids[:, None, :])
    idx = torch.arange(T)

    def mask_for(window):
        ok = allowed
        if window is not None:  # transformers: kv_idx > q_idx - sliding_window
            ok = ok & (idx[None, :] > idx[:, None] - window)[None]
        return torch.zeros(B, 1, T, T).masked_fill(~ok[:, None], torch.finfo(torch.float32).min)

    def W(n):
        return hooks.weight(n, w[n])

    def lin(name, x, bias=False):
        y = x @ W(name + ".weight").T
        if bias:
            y = y + W(name + ".bias")
        return hooks.linear(name, x, y)

    x = hooks.embedding("model.embed_tokens", input_ids, torch.nn.functional.embedding(input_ids, W("model.embed_tokens.weight")))
    cos, sin = rope_cos_sin(c, position_ids)
    cos, sin = cos[:, None], sin[:, None]  # [B,1,T,d]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, W(p + "input_layernorm.weight"), eps)
        q = lin(p + "self_attn.q_proj", h, qkv_bias(c)).view(B, T, nh, hd)
        k = lin(p + "self_attn.k_proj", h, qkv_bias(c)).view(B, T, nkv, hd)
        if qk_norm(c):  # Qwen3: RMSNorm over each head's vector, before the rotation
            q = rms_norm(q, W(p + "self_attn.q_norm.weight"), eps)
            k = rms_norm(k, W(p + "self_attn.k_norm.weight"), eps)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = lin(p + "self_attn.v_proj", h, qkv_bias(c)).view(B, T, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)
        att = (q @ k.transpose(2, 3)) / math.sqrt(hd) + mask_for(layer_window(c, l))
        att = torch.softmax(att, dim=-1, dtype=torch.float32)
        y = (att @ v).transpose(1, 2).reshape(B, T, nh * hd)
        x = x + lin(p + "self_attn.o_proj", y, o_bias(c))
        h = rms_norm(x, W(p + "post_attention_layernorm.weight"), eps)
        g = lin(p + "mlp.gate_proj", h)
        u = lin(p + "mlp.up_proj", h)
        x = x + lin(p + "mlp.down_proj", torch.nn.functional.silu(g) * u)
    x = rms_norm(x, W("model.norm.weight"), eps)
    head = "lm_head.weight" if (not c.get("tie_word_embeddings", False) or "lm_head.weight" in w) else "model.embed_tokens.weight"
    return hooks.linear("lm_head", x, x @ W(head).T)


# ---------------------------------------------------------------- cases

def base_config(**kw):
    c = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
         "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "rope_scaling": None, "max_position_embeddings": 64,
         "tie_word_embeddings": False, "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2,
         "torch_dtype": "float32"}
    c.update(kw)
    return c


CASES = {
    # GQA (4 query heads on 2 kv heads), separate lm_head, sharded checkpoint, linear rope scaling.
    "llama_gqa": dict(config=base_config(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2,
                                         rope_scaling={"type": "linear", "factor": 2.0}),
                      shards=2, dtype=torch.float32, packed=False),
    # Qwen2: q/k/v bias, tied embeddings, group of 3, bfloat16 checkpoint, rope_theta 1e6.
    "qwen2_bias_tied": dict(config=base_config(architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=89,
                                               hidden_size=48, intermediate_size=80, num_hidden_layers=2,
                                               num_attention_heads=6, num_key_value_heads=2, rope_theta=1000000.0,
                                               rms_norm_eps=1e-5, tie_word_embeddings=True, torch_dtype="bfloat16",
                                               use_sliding_window=False, sliding_window=4096),
                            shards=1, dtype=torch.bfloat16, packed=False),
    # Plain multi-head attention with packed rows: positions restart, block-diagonal mask.
    "llama_packed": dict(config=base_config(vocab_size=71, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                            num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-5,
                                            attention_bias=True),
                         shards=1, dtype=torch.float16, packed=True),
    # Qwen3: per-head q/k RMSNorm, head_dim 16 decoupled from hidden/heads (48/4 = 12), tied.
    "qwen3_qknorm": dict(config=base_config(architectures=["Qwen3ForCausalLM"], model_type="qwen3", vocab_size=83,
                                            hidden_size=48, intermediate_size=64, num_hidden_layers=2,
                                            num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                            rope_theta=1000000.0, tie_word_embeddings=True, torch_dtype="bfloat16",
                                            use_sliding_window=False, sliding_window=None, max_window_layers=2),
                         shards=1, dtype=torch.bfloat16, packed=False),
    # Llama 3.1/3.2 rope_scaling "llama3": frequencies kept, divided by factor, or smoothed.
    "llama3_rope": dict(config=base_config(vocab_size=61, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                           num_attention_heads=4, num_key_value_heads=1, rope_theta=500000.0,
                                           max_position_embeddings=256, tie_word_embeddings=True,
                                           rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
                        shards=1, dtype=torch.float32, packed=False),
    # YaRN: interpolation ramp between beta_fast and beta_slow, attention factor 0.1 ln(s) + 1.
    # max_position_embeddings = factor x original, where transformers versions agree on factor.
    "llama_yarn": dict(config=base_config(vocab_size=67, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192,
                                          rope_scaling={"rope_type": "yarn", "factor": 4.0,
                                                        "original_max_position_embeddings": 2048}),
                       shards=1, dtype=torch.float32, packed=False),
    # Dynamic NTK: 12 positions > max_position_embeddings 8, so the base grows.
    "llama_dynamic": dict(config=base_config(vocab_size=53, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                             num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=8,
                                             rope_scaling={"type": "dynamic", "factor": 2.0}),
                          shards=1, dtype=torch.float32, packed=False),
    # Mistral: sliding_window 4 on every layer (12 tokens: the window cuts most of the context).
    "mistral_window": dict(config=base_config(architectures=["MistralForCausalLM"], model_type="mistral", vocab_size=59,
                                              hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                              num_attention_heads=4, num_key_value_heads=2, sliding_window=4,
                                              head_dim=8),
                           shards=1, dtype=torch.float32, packed=False),
    # Qwen3 with use_sliding_window: layer 0 full attention, layer 1 a window of 5.
    "qwen3_window": dict(config=base_config(architectures=["Qwen3ForCausalLM"], model_type="qwen3", vocab_size=47,
                                            hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                            num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                                            use_sliding_window=True, sliding_window=5, max_window_layers=1),
                         shards=1, dtype=torch.float32, packed=False),
}


def save_checkpoint(d, c, w, shards, dtype):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
    names = list(w.keys())
    ts = {n: w[n].to(dtype) for n in names}
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), ts, {"format": "pt"})
        return
    per = (len(names) + shards - 1) // shards
    wm = {}
    for s in range(shards):
        fn = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = names[s * per:(s + 1) * per]
        write_safetensors(os.path.join(d, fn), {n: ts[n] for n in part}, {"format": "pt"})
        for n in part:
            wm[n] = fn
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(t.numel() * t.element_size() for t in ts.values())}, "weight_map": wm}, f, indent=2)


def make_inputs(c, gen, packed):
    B, T = 2, 12
    ids = torch.randint(0, c["vocab_size"], (B, T), generator=gen)
    if not packed:
        return ids, torch.arange(T)[None].expand(B, T).clone(), None
    # row 0: segments of 5, 4, 3 tokens; row 1: 7 then 5.
    lens = [[5, 4, 3], [7, 5]]
    pos = torch.zeros(B, T, dtype=torch.int64)
    seg = torch.zeros(B, T, dtype=torch.int64)
    for b, ls in enumerate(lens):
        o = 0
        for i, n in enumerate(ls):
            pos[b, o:o + n] = torch.arange(n)
            seg[b, o:o + n] = i + 1
            o += n
    return ids, pos, seg


def main():
    torch.manual_seed(0)
    only = sys.argv[1:]
    for name, case in CASES.items():
        if only and name not in only:
            continue
        gen = torch.Generator().manual_seed(sum(map(ord, name)))
        c = case["config"]
        w = random_weights(c, gen)
        # The golden uses the weights exactly as stored (rounded to the checkpoint dtype).
        w = {n: t.to(case["dtype"]).float() for n, t in w.items()}
        d = os.path.join(HERE, name)
        save_checkpoint(d, c, w, case["shards"], case["dtype"])
        ids, pos, seg = make_inputs(c, gen, case["packed"])
        with torch.no_grad():
            logits = forward(c, w, ids, pos, seg)
        if seg is not None:  # packed rows must equal each segment run on its own
            for b in range(ids.shape[0]):
                for sid in seg[b].unique().tolist():
                    m = seg[b] == sid
                    with torch.no_grad():
                        alone = forward(c, w, ids[b][m][None])
                    assert torch.allclose(alone[0], logits[b][m], atol=1e-5), (name, b, sid)
        # HF causal-LM loss: shift inside, ignore -100, here summed (reduction="sum") with its count.
        labels = ids.clone()
        labels[0, :4] = -100
        labels[1, 7:9] = -100
        sl, st = logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1)
        loss_sum = torch.nn.functional.cross_entropy(sl, st, ignore_index=-100, reduction="sum")
        loss_count = (st != -100).sum().float()
        inputs = {"input_ids": ids.tolist(), "position_ids": pos.tolist(),
                  "segment_ids": seg.tolist() if seg is not None else None, "labels": labels.tolist()}
        with open(os.path.join(d, "inputs.json"), "w") as f:
            json.dump(inputs, f)
        write_safetensors(os.path.join(d, "golden.safetensors"), {"logits": logits.float(), "loss_sum": loss_sum.reshape(1), "loss_count": loss_count.reshape(1)})
        print(name, "logits", tuple(logits.shape), "max|x|", float(logits.abs().max()))


if __name__ == "__main__":
    main()
