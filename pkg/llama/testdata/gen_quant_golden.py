#!/usr/bin/python3
"""Writes quant_golden.safetensors: NF4, 8-bit and double-quantized blockwise quantization of a
few weight matrices, for pkg/llama's quantization tests.

A plain-PyTorch implementation of the published algorithms, independent of the Go code:
- NF4 (QLoRA, Dettmers et al. 2023; bitsandbytes' quantize_4bit with quant_type="nf4",
  blocksize=64): the row-major [out, in] weight is cut into blocks of 64 consecutive values;
  absmax = max |x| of the block; each x/absmax takes the index of the nearest of the 16 NF4
  levels; two indices per byte, the first value in the high nibble. Dequantized: NF4[i] * absmax.
  A block of zeros (absmax 0) is stored with absmax 0 and dequantizes to zeros.
- 8-bit: the same blocks, code = round(x * (127 / absmax)) (ties to even), value = code * (absmax / 127).
- Double quantization (QLoRA): the absmax constants minus their mean, in groups of 256, are
  quantized the same 8-bit way (this project stores the second level with a linear 8-bit map;
  bitsandbytes uses its dynamic 8-bit float map).
Arithmetic is float32 throughout, in the order written here. Run: /usr/bin/python3 gen_quant_golden.py
"""
import os
import torch

from gen_golden import write_safetensors  # the same hand-written safetensors writer

HERE = os.path.dirname(os.path.abspath(__file__))
# QLoRA's NormalFloat4 levels (bitsandbytes' NF4 table).
NF4 = torch.tensor([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=torch.float32)
BS = 64


def blocks(w):
    return w.reshape(-1, BS)


def nf4(w):
    b = blocks(w)
    absmax = b.abs().amax(dim=1)
    inv = torch.where(absmax > 0, 1.0 / absmax, torch.zeros_like(absmax))
    x = b * inv[:, None]
    idx = (x[..., None] - NF4).abs().argmin(dim=-1).to(torch.uint8).reshape(-1)
    packed = (idx[0::2] << 4) | idx[1::2]
    deq = (NF4[idx.long()].reshape(-1, BS) * absmax[:, None]).reshape(w.shape)
    return packed.reshape(w.shape[0], w.shape[1] // 2), absmax, deq


def int8(vals, bs):
    b = vals.reshape(-1, bs)
    absmax = b.abs().amax(dim=1)
    scale = torch.where(absmax > 0, 127.0 / absmax, torch.zeros_like(absmax))
    q = torch.round(b * scale[:, None]).to(torch.int8)
    deq = q.to(torch.float32) * (absmax / 127.0)[:, None]
    return q.reshape(-1), absmax, deq.reshape(-1)


def double_quant(absmax):
    offset = absmax.mean()
    groups = (absmax.numel() + 255) // 256
    centred = torch.zeros(groups * 256, dtype=torch.float32)
    centred[: absmax.numel()] = absmax - offset
    q, scales, deq = int8(centred, 256)
    return q, scales, offset, deq[: absmax.numel()] + offset


def main():
    g = torch.Generator().manual_seed(20231)
    cases = {
        "small": torch.randn(4, 128, generator=g) * 0.02,
        # 280 blocks: two double-quantization groups, the second partial.
        "wide": torch.randn(40, 448, generator=g) * 0.05,
    }
    edge = torch.randn(3, 128, generator=g)
    edge[0, :64] = 0  # a block of zeros
    edge[1, :64] = NF4[torch.arange(64) % 16] * 3  # exact levels times the absmax
    edge[2, 5] = 40.0  # an outlier
    cases["edge"] = edge
    out = {}
    for name, w in cases.items():
        w = w.to(torch.float32)
        out[name] = w
        codes, absmax, deq = nf4(w)
        out[name + ".nf4"], out[name + ".nf4.absmax"], out[name + ".nf4.dequant"] = codes, absmax, deq
        q, a8, d8 = int8(w.reshape(-1), BS)
        out[name + ".int8"], out[name + ".int8.absmax"], out[name + ".int8.dequant"] = q, a8, d8.reshape(w.shape)
        dq, ds, doff, dabs = double_quant(absmax)
        out[name + ".dq.codes"], out[name + ".dq.scales"], out[name + ".dq.offset"] = dq, ds, doff.reshape(())
        out[name + ".dq.absmax"] = dabs
        out[name + ".dq.dequant"] = (NF4[torch.stack([codes.reshape(-1) >> 4, codes.reshape(-1) & 15], 1).reshape(-1).long()]
                                     .reshape(-1, BS) * dabs[:, None]).reshape(w.shape)
    write_safetensors(os.path.join(HERE, "quant_golden.safetensors"), out)


if __name__ == "__main__":
    main()
