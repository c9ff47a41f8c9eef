"""PyTorch peer of bench/engine.bench.ts: the same LoRA transformer block, shapes, weights and threads.

Usage: /usr/bin/python3 engine_block.py MANIFEST.json  -> prints JSON timings, loss and gradient norms.
"""
import json
import math
import sys
import time

import torch


def load(spec):
    with open(spec["file"], "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(spec["shape"])


def rms_norm(x, w, eps):
    return x * (1.0 / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)) * w


def block(t, c):
    x = t["x"]
    b, s, hidden = x.shape
    heads = c["heads"]
    head_dim = hidden // heads
    scale = c["loraScale"]

    def split_heads(y):
        return y.reshape(b, s, heads, head_dim).transpose(1, 2)

    n1 = rms_norm(x, t["norm1"], c["eps"])
    q = split_heads(n1 @ t["wq"] + (n1 @ t["lora_q_a"]) @ t["lora_q_b"] * scale)
    k = split_heads(n1 @ t["wk"])
    v = split_heads(n1 @ t["wv"] + (n1 @ t["lora_v_a"]) @ t["lora_v_b"] * scale)
    scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(head_dim))
    pos = torch.arange(s)
    visible = pos[None, :] <= pos[:, None]
    probs = torch.softmax(torch.where(visible, scores, torch.tensor(-1e9)), dim=-1)
    attn = (probs @ v).transpose(1, 2).reshape(b, s, hidden)
    h = x + attn @ t["wo"]
    n2 = rms_norm(h, t["norm2"], c["eps"])
    gate = n2 @ t["w_gate"]
    return h + ((gate * torch.sigmoid(gate)) * (n2 @ t["w_up"])) @ t["w_down"]


def median_ms(fn, iterations, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    mid = len(times) // 2
    return times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2


def loaded_blas():
    """Which BLAS library the process actually loaded (Debian's torch links the generic libblas.so.3)."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    return "openblas" if "openblas" in maps else "reference" if "libblas.so" in maps else "unknown"


def read_manifest(path):
    """The bench's instructions for a peer; sets torch's threads to the count our side uses."""
    with open(path) as f:
        manifest = json.load(f)
    torch.set_num_threads(manifest["threads"])
    torch.set_num_interop_threads(1)
    return manifest


def main():
    manifest = read_manifest(sys.argv[1])
    c = manifest["config"]
    t = {name: load(spec) for name, spec in manifest["tensors"].items()}
    for name in manifest["lora"]:
        t[name].requires_grad_(True)
    cotangent = t["cotangent"]

    def forward():
        with torch.no_grad():
            return (block(t, c) * cotangent).sum()

    def forward_backward():
        for name in manifest["lora"]:
            t[name].grad = None
        loss = (block(t, c) * cotangent).sum()
        loss.backward()
        return loss

    iterations = manifest["iterations"]
    result = {
        "forward_ms": median_ms(forward, iterations),
        "fwd_bwd_ms": median_ms(forward_backward, iterations),
    }
    loss = forward_backward()
    result["loss"] = loss.item()
    result["grad_norms"] = {name: t[name].grad.norm().item() for name in manifest["lora"]}
    result["blas"] = loaded_blas()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
