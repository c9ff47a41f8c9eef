"""PyTorch peer of bench/training.bench.ts: one SLHF LoRA training step on the same decoder.

The step: a no-grad forward for the current per-token log-probs (the probe), a forward+backward of
the surrogate loss sum(coef * logp) with requires_grad on the LoRA factors only, gradient clipping
and an AdamW update (eps 1e-6, no weight decay): the work our trainer does per optimizer step.
Usage: /usr/bin/python3 training_step.py MANIFEST.json  -> prints JSON timings, loss and gradient norms.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "reference"))
from decoder_ref import inv_freq, load_safetensors, rms, rotate_half  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from engine_block import loaded_blas, median_ms, read_manifest  # noqa: E402

TARGETS = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
           "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"}


def forward(cfg, w, lora, scale, ids):
    B, T = ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or H // nh
    eps = cfg["rms_norm_eps"]

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        if name + ".bias" in w:
            y = y + w[name + ".bias"]
        if name in lora:
            a, b = lora[name]
            y = y + (x @ a.T) @ b.T * scale
        return y

    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq(cfg, hd).float())
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)
    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}"
        x = rms(h, w[p + ".input_layernorm.weight"], eps)
        q = lin(x, p + ".self_attn.q_proj").view(B, T, nh, hd).transpose(1, 2)
        k = lin(x, p + ".self_attn.k_proj").view(B, T, nkv, hd).transpose(1, 2)
        v = lin(x, p + ".self_attn.v_proj").view(B, T, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1) @ v
        h = h + lin(att.transpose(1, 2).reshape(B, T, nh * hd), p + ".self_attn.o_proj")
        x = rms(h, w[p + ".post_attention_layernorm.weight"], eps)
        g = lin(x, p + ".mlp.gate_proj")
        h = h + lin(torch.nn.functional.silu(g) * lin(x, p + ".mlp.up_proj"), p + ".mlp.down_proj")
    h = rms(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return h @ head.T


def main():
    m = read_manifest(sys.argv[1])
    with open(os.path.join(m["model"], "config.json")) as f:
        cfg = json.load(f)
    w = load_safetensors(os.path.join(m["model"], "model.safetensors"), torch.float32)
    adapter = load_safetensors(m["adapter"], torch.float32)
    lora = {}
    for layer in range(cfg["num_hidden_layers"]):
        for t in m["targets"]:
            name = f"model.layers.{layer}.{TARGETS[t]}"
            pre = "base_model.model." + name
            lora[name] = (adapter[pre + ".lora_A.weight"].requires_grad_(True), adapter[pre + ".lora_B.weight"].requires_grad_(True))
    params = [p for pair in lora.values() for p in pair]
    ids = torch.tensor(m["ids"], dtype=torch.long)
    inputs, targets = ids[:, :-1], ids[:, 1:]
    coef = torch.tensor(m["coef"], dtype=torch.float32)  # [B, T-1], zero on prompt positions
    opt = torch.optim.AdamW(params, lr=m["lr"], eps=1e-6, weight_decay=0.0)

    def logp():
        return torch.log_softmax(forward(cfg, w, lora, m["scale"], inputs), -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)

    def surrogate():
        return (coef * logp()).sum()

    # Loss and gradients before any update, for the agreement check.
    loss = surrogate()
    loss.backward()
    grad_norms = {n: [float(a.grad.norm()), float(b.grad.norm())] for n, (a, b) in lora.items()}
    opt.zero_grad()

    def probe():
        with torch.no_grad():
            logp()

    def step():
        probe()
        opt.zero_grad()
        surrogate().backward()
        torch.nn.utils.clip_grad_norm_(params, 100.0)
        opt.step()

    def fwd_bwd():
        opt.zero_grad()
        surrogate().backward()

    out = {
        "probe_ms": median_ms(probe, m["iterations"]),
        "fwd_bwd_ms": median_ms(fwd_bwd, m["iterations"]),
        "step_ms": median_ms(step, m["iterations"]),
        "loss": float(loss),
        "grad_norms": grad_norms,
        "blas": loaded_blas(),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
