# A PyTorch (float64) reference of the Hugging Face decoder forward pass, used once in the tests to
# cross-check the TypeScript reference. It reads a model folder (config.json + model.safetensors,
# parsed by hand because Debian's torch has no safetensors package) and prints the logits as JSON.
# Usage: /usr/bin/python3 decoder_ref.py MODEL_DIR IDS_CSV
import json
import math
import mmap
import os
import struct
import sys
import warnings

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path, dtype=torch.float64):
    """Every tensor of a .safetensors file, converted to `dtype`. The file is mapped, not read, and each
    tensor is copied out on its own, so a large checkpoint costs one copy in `dtype` at peak."""
    out = {}
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        (n,) = struct.unpack("<Q", m[:8])
        header = json.loads(m[8 : 8 + n])
        for name, info in header.items():
            if name == "__metadata__":
                continue
            a, b = info["data_offsets"]
            source = DTYPES[info["dtype"]]
            count = (b - a) // torch.tensor([], dtype=source).element_size()
            if count == 0:
                out[name] = torch.empty(info["shape"], dtype=dtype)
                continue
            with warnings.catch_warnings():  # the map is read-only; the view is copied at once
                warnings.simplefilter("ignore", UserWarning)
                view = torch.frombuffer(m, dtype=source, count=count, offset=8 + n + a)
            out[name] = view.to(dtype, copy=True).reshape(info["shape"])
            del view  # the map cannot close while a view of it is alive
    return out


def inv_freq(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    rs = cfg.get("rope_scaling")
    if not rs or rs.get("rope_type", rs.get("type")) == "default":
        return inv
    if rs.get("rope_type", rs.get("type")) == "linear":
        return inv / rs["factor"]
    factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > old / low, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= old / high) & (wavelen <= old / low)
    return torch.where(medium, smoothed, scaled)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def forward(cfg, w, ids):
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or H // nh
    eps = cfg["rms_norm_eps"]
    T = len(ids)

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    pos = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq(cfg, hd))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    sw = cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None
    if sw:
        i = torch.arange(T).unsqueeze(1)
        j = torch.arange(T).unsqueeze(0)
        mask = mask.masked_fill(i - j >= sw, float("-inf"))
    h = w["model.embed_tokens.weight"][torch.tensor(ids)]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}"
        x = rms(h, w[p + ".input_layernorm.weight"], eps)
        q = lin(x, p + ".self_attn.q_proj").view(T, nh, hd).transpose(0, 1)
        k = lin(x, p + ".self_attn.k_proj").view(T, nkv, hd).transpose(0, 1)
        v = lin(x, p + ".self_attn.v_proj").view(T, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, dim=-1) @ v
        h = h + lin(att.transpose(0, 1).reshape(T, nh * hd), p + ".self_attn.o_proj")
        x = rms(h, w[p + ".post_attention_layernorm.weight"], eps)
        g = lin(x, p + ".mlp.gate_proj")
        h = h + lin(torch.nn.functional.silu(g) * lin(x, p + ".mlp.up_proj"), p + ".mlp.down_proj")
    h = rms(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return h @ head.T


def main():
    folder, ids = sys.argv[1], [int(t) for t in sys.argv[2].split(",")]
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    logits = forward(cfg, load_safetensors(os.path.join(folder, "model.safetensors")), ids)
    json.dump(logits.tolist(), sys.stdout)


if __name__ == "__main__":
    main()
