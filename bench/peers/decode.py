"""PyTorch peer of bench/inference.bench.ts: greedy decoding with a KV cache on the same checkpoint.

The Llama/Qwen2 decoder in float32 (RMSNorm, rotate_half RoPE with Llama 3 scaling, GQA, SwiGLU, qkv
bias when present, tied embeddings when the config says so), weights read from the same model.safetensors
and held transposed, [in, out], the faster layout for this torch (see Decoder). Per run: prefill of the
prompt (logits of the last position only, as transformers' generate does), then one token per step; the
end-of-sequence ids are masked on both sides so every run makes the same number of tokens.
Usage: /usr/bin/python3 decode.py MANIFEST.json  -> prints JSON timings, tokens, peak RSS; writes the
first step's logits (float32) to the manifest's logits_file.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "reference"))
from decoder_ref import inv_freq, load_safetensors, rms, rotate_half  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from engine_block import loaded_blas, read_manifest  # noqa: E402


class Decoder:
    def __init__(self, cfg, w, max_len):
        self.cfg, self.w = cfg, w
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads", self.nh)
        self.hd = cfg.get("head_dim") or cfg["hidden_size"] // self.nh
        self.eps = cfg["rms_norm_eps"]
        self.layers = cfg["num_hidden_layers"]
        # Weights stored [in, out]: in torch 1.13 with OpenBLAS a one-row x @ W is ~2.6x faster than
        # F.linear's x @ W.T on the checkpoint's [out, in] layout (4.3 vs 11.2 ms for 896 x 4864), so the
        # peer gets the faster layout, as our graph does. The tied embedding is held once, as the head.
        head = "model.embed_tokens.weight" if cfg.get("tie_word_embeddings") else "lm_head.weight"
        for name in [n for n in w if n.endswith("_proj.weight") or n == head]:
            w[name] = w[name].T.contiguous()
        self.head = w[head]
        self.embed = (lambda ids: self.head[:, ids].T) if head == "model.embed_tokens.weight" else (lambda ids: w["model.embed_tokens.weight"][ids])
        freqs = torch.outer(torch.arange(max_len, dtype=torch.float64), inv_freq(cfg, self.hd))
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos, self.sin = emb.cos().float(), emb.sin().float()
        # A preallocated cache written in place: no per-step concatenation of the whole history.
        self.k = torch.zeros(self.layers, self.nkv, max_len, self.hd)
        self.v = torch.zeros(self.layers, self.nkv, max_len, self.hd)

    def lin(self, x, name):
        y = x @ self.w[name + ".weight"]
        return y + self.w[name + ".bias"] if name + ".bias" in self.w else y

    def forward(self, ids, start):
        """Logits of the last position for `ids` placed at positions start.., updating the cache."""
        w, T, nh, nkv, hd = self.w, len(ids), self.nh, self.nkv, self.hd
        end = start + T
        cos, sin = self.cos[start:end], self.sin[start:end]
        mask = torch.full((T, end), float("-inf")).triu(start + 1) if T > 1 else None
        h = self.embed(torch.tensor(ids))
        for layer in range(self.layers):
            p = f"model.layers.{layer}"
            x = rms(h, w[p + ".input_layernorm.weight"], self.eps)
            q = self.lin(x, p + ".self_attn.q_proj").view(T, nh, hd).transpose(0, 1)
            k = self.lin(x, p + ".self_attn.k_proj").view(T, nkv, hd).transpose(0, 1)
            v = self.lin(x, p + ".self_attn.v_proj").view(T, nkv, hd).transpose(0, 1)
            q = q * cos + rotate_half(q) * sin
            self.k[layer, :, start:end] = k * cos + rotate_half(k) * sin
            self.v[layer, :, start:end] = v
            # GQA without copying the cache: query heads grouped per kv head.
            qg = q.reshape(nkv, nh // nkv * T, hd)
            scores = (qg @ self.k[layer, :, :end].transpose(1, 2)).view(nh, T, end) / math.sqrt(hd)
            if mask is not None:
                scores = scores + mask
            att = (torch.softmax(scores, dim=-1).view(nkv, nh // nkv * T, end) @ self.v[layer, :, :end]).view(nh, T, hd)
            h = h + self.lin(att.transpose(0, 1).reshape(T, nh * hd), p + ".self_attn.o_proj")
            x = rms(h, w[p + ".post_attention_layernorm.weight"], self.eps)
            h = h + self.lin(F.silu(self.lin(x, p + ".mlp.gate_proj")) * self.lin(x, p + ".mlp.up_proj"), p + ".mlp.down_proj")
        return rms(h[-1], w["model.norm.weight"], self.eps) @ self.head


def generate(model, prompt, new_tokens, masked):
    tokens, start = [], time.perf_counter()
    logits = model.forward(prompt, 0)
    first_logits = logits.clone()
    for step in range(new_tokens):
        if step > 0:
            logits = model.forward([tokens[-1]], len(prompt) + step - 1)
        logits[masked] = float("-inf")
        tokens.append(int(torch.argmax(logits)))
        if step == 0:
            first = time.perf_counter()
    end = time.perf_counter()
    return {"ttft_ms": (first - start) * 1000, "decode_ms": (end - first) * 1000}, tokens, first_logits


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def main():
    m = read_manifest(sys.argv[1])
    with open(os.path.join(m["checkpoint"], "config.json")) as f:
        cfg = json.load(f)
    weights = load_safetensors(os.path.join(m["checkpoint"], "model.safetensors"), torch.float32)
    prompt, new_tokens = m["prompt"], m["new_tokens"]
    model = Decoder(cfg, weights, len(prompt) + new_tokens)
    masked = torch.tensor(m["masked_ids"], dtype=torch.long)
    runs = []
    with torch.inference_mode():
        _, tokens, first_logits = generate(model, prompt, new_tokens, masked)  # warm-up
        for _ in range(m["runs"]):
            timing, again, _ = generate(model, prompt, new_tokens, masked)
            if again != tokens:
                raise SystemExit("decode.py: greedy decoding is not deterministic across runs")
            runs.append(timing)
    first_logits.numpy().astype(np.float32).tofile(m["logits_file"])
    json.dump({"runs": runs, "tokens": tokens, "peak_rss_mb": peak_rss_mb(), "blas": loaded_blas()}, sys.stdout)


if __name__ == "__main__":
    main()
