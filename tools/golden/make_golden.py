#!/usr/bin/env python3
"""Writes the PyTorch golden files that tests/test_golden.cpp compares the engine against.

Run from anywhere: `python3 tools/golden/make_golden.py` writes tests/golden/<name>.safetensors.
Each file holds, per case, the inputs, parameters, outputs and gradients of the scalar loss
sum(out * grad_out) with a stored random grad_out (so dL/dout = grad_out). The options of each
case (stride, eps, ...) are stored in the file's metadata key "golden" as JSON
{"generator": ..., "cases": {case: {option: value}}}, so the C++ test reads them from the file
instead of repeating them. Everything is deterministic: fixed
seeds, one thread, small shapes; f64 where values are compared tightly, f32 copies of a few cases
to check the engine's f32 path.
"""

import json
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden")


class Golden:
    """Collects named tensors and per-case option dicts for one file."""

    def __init__(self):
        self.tensors = {}
        self.meta = {}

    def put(self, case, name, t):
        key = f"{case}.{name}"
        assert key not in self.tensors, key
        self.tensors[key] = t.detach().clone().contiguous()

    def options(self, case, **opts):
        assert case not in self.meta, case
        self.meta[case] = opts

    def save(self, filename):
        path = os.path.normpath(os.path.join(OUT_DIR, filename))
        # One metadata key: safetensors writes metadata from a hash map in random order, and
        # byte-identical reruns need a single, key-sorted JSON string.
        meta = {"golden": json.dumps({"generator": "tools/golden/make_golden.py",
                                      "cases": self.meta}, sort_keys=True)}
        save_file(self.tensors, path, metadata=meta)
        print(f"{path}: {len(self.tensors)} tensors, {os.path.getsize(path)} bytes")


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(shape, g, dtype, scale=1.0):
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def backward_with_grad_out(out, g, dtype):
    """Draws grad_out, runs sum(out * grad_out).backward() and returns grad_out."""
    grad_out = randn(out.shape, g, dtype)
    (out * grad_out).sum().backward()
    return grad_out


# ---- 1. conv2d ----
def make_conv2d():
    G = Golden()
    cases = [
        # name, N, C_in, H, W, C_out, k, stride, padding, groups, dtype
        ("stride2_pad1", 2, 4, 7, 7, 6, 3, 2, 1, 1, torch.float64),
        ("groups2", 2, 4, 6, 5, 6, 3, 1, 1, 2, torch.float64),
        ("depthwise", 2, 4, 6, 6, 4, 3, 1, 1, 4, torch.float64),
        ("stride2_pad1_f32", 2, 4, 7, 7, 6, 3, 2, 1, 1, torch.float32),
    ]
    for i, (name, n, cin, h, w, cout, k, stride, padding, groups, dtype) in enumerate(cases):
        g = gen(100 + i)
        x = leaf(randn((n, cin, h, w), g, dtype))
        weight = leaf(randn((cout, cin // groups, k, k), g, dtype, 0.3))
        bias = leaf(randn((cout,), g, dtype, 0.1))
        out = F.conv2d(x, weight, bias, stride=stride, padding=padding, groups=groups)
        grad_out = backward_with_grad_out(out, g, dtype)
        G.options(name, stride=[stride, stride], padding=[padding, padding], groups=groups)
        for key, t in [("x", x), ("weight", weight), ("bias", bias), ("out", out),
                       ("grad_out", grad_out), ("dx", x.grad), ("dweight", weight.grad),
                       ("dbias", bias.grad)]:
            G.put(name, key, t)
    G.save("conv2d.safetensors")


# ---- 2. layer_norm ----
def make_layer_norm():
    G = Golden()
    for i, (name, dtype) in enumerate([("f64", torch.float64), ("f32", torch.float32)]):
        g = gen(200 + i)
        c, eps = 8, 1e-5
        # An offset and scale per row so mean subtraction and variance really matter.
        x = leaf(randn((3, 5, c), g, dtype, 2.0) + 0.5)
        weight = leaf(1.0 + randn((c,), g, dtype, 0.2))
        bias = leaf(randn((c,), g, dtype, 0.2))
        out = F.layer_norm(x, (c,), weight, bias, eps)
        grad_out = backward_with_grad_out(out, g, dtype)
        G.options(name, eps=eps)
        for key, t in [("x", x), ("weight", weight), ("bias", bias), ("out", out),
                       ("grad_out", grad_out), ("dx", x.grad), ("dweight", weight.grad),
                       ("dbias", bias.grad)]:
            G.put(name, key, t)
    G.save("layer_norm.safetensors")


# ---- 3. batch_norm ----
def make_batch_norm():
    G = Golden()
    cases = [
        # name, x shape, affine, training
        ("train_nchw", (4, 3, 5, 5), True, True),
        ("eval_nchw", (4, 3, 5, 5), True, False),
        ("train_nc_noaffine", (6, 4), False, True),
    ]
    momentum, eps = 0.1, 1e-5
    for i, (name, shape, affine, training) in enumerate(cases):
        g = gen(300 + i)
        dtype = torch.float64
        c = shape[1]
        x = leaf(randn(shape, g, dtype, 1.5) + 0.3)
        running_mean = randn((c,), g, dtype, 0.5)
        running_var = 0.5 + torch.rand((c,), generator=g, dtype=dtype)
        weight = leaf(1.0 + randn((c,), g, dtype, 0.2)) if affine else None
        bias = leaf(randn((c,), g, dtype, 0.2)) if affine else None
        G.put(name, "running_mean", running_mean)
        G.put(name, "running_var", running_var)
        rm, rv = running_mean.clone(), running_var.clone()  # updated in place by torch
        out = F.batch_norm(x, rm, rv, weight, bias, training, momentum, eps)
        grad_out = backward_with_grad_out(out, g, dtype)
        G.options(name, momentum=momentum, eps=eps, training=training, affine=affine)
        named = [("x", x), ("out", out), ("grad_out", grad_out), ("dx", x.grad),
                 ("running_mean_after", rm), ("running_var_after", rv)]
        if affine:
            named += [("weight", weight), ("bias", bias), ("dweight", weight.grad),
                      ("dbias", bias.grad)]
        for key, t in named:
            G.put(name, key, t)
    G.save("batch_norm.safetensors")


# ---- 4. scaled_dot_product_attention ----
def make_attention():
    G = Golden()
    b, h, lq, lk, d, dv = 2, 2, 5, 6, 4, 3
    cases = [
        # name, mask kind, scale (0 = default 1/sqrt(D)), dtype
        ("nomask", None, 0.0, torch.float64),
        ("mask", "full", 0.0, torch.float64),  # bool mask [B, H, Lq, Lk]
        ("mask_bcast_scale", "bcast", 0.7, torch.float64),  # bool mask [B, 1, Lq, Lk]
        ("mask_f32", "full", 0.0, torch.float32),
    ]
    for i, (name, mask_kind, scale, dtype) in enumerate(cases):
        g = gen(400 + i)
        q = leaf(randn((b, h, lq, d), g, dtype))
        k = leaf(randn((b, h, lk, d), g, dtype))
        v = leaf(randn((b, h, lk, dv), g, dtype))
        mask = None
        if mask_kind is not None:
            mshape = (b, h, lq, lk) if mask_kind == "full" else (b, 1, lq, lk)
            mask = torch.rand(mshape, generator=g) < 0.6
            mask[..., 0] = True  # every query may attend somewhere (else the row is NaN)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             scale=(scale if scale > 0 else None))
        grad_out = backward_with_grad_out(out, g, dtype)
        G.options(name, scale=scale, has_mask=mask is not None)
        named = [("q", q), ("k", k), ("v", v), ("out", out), ("grad_out", grad_out),
                 ("dq", q.grad), ("dk", k.grad), ("dv", v.grad)]
        if mask is not None:
            named.append(("mask", mask.to(dtype)))  # our 0/1 float mask convention
        for key, t in named:
            G.put(name, key, t)
    G.save("attention.safetensors")


# ---- 5. gelu ----
def make_gelu():
    G = Golden()
    cases = [("erf", "none", torch.float64), ("tanh", "tanh", torch.float64),
             ("erf_f32", "none", torch.float32), ("tanh_f32", "tanh", torch.float32)]
    for i, (name, approx, dtype) in enumerate(cases):
        g = gen(500 + i)
        # An even grid over [-6, 6] (tails and zero included) plus random points.
        grid = torch.linspace(-6.0, 6.0, 49, dtype=torch.float64)
        x = leaf(torch.cat([grid, randn((31,), g, torch.float64, 2.0)]).to(dtype))
        out = F.gelu(x, approximate=approx)
        grad_out = backward_with_grad_out(out, g, dtype)
        G.options(name, approximate=approx)
        for key, t in [("x", x), ("out", out), ("grad_out", grad_out), ("dx", x.grad)]:
            G.put(name, key, t)
    G.save("gelu.safetensors")


# ---- 6. cross_entropy ----
def make_cross_entropy():
    G = Golden()
    n, c = 7, 5
    cases = [
        # name, label_smoothing, reduction
        ("plain", 0.0, "mean"),
        ("smooth", 0.1, "mean"),
        ("smooth_sum", 0.2, "sum"),
        ("smooth_none", 0.1, "none"),
    ]
    for i, (name, smoothing, reduction) in enumerate(cases):
        g = gen(600 + i)
        logits = leaf(randn((n, c), g, torch.float64, 2.0))
        target = torch.randint(0, c, (n,), generator=g, dtype=torch.int64)
        out = F.cross_entropy(logits, target, label_smoothing=smoothing, reduction=reduction)
        grad_out = backward_with_grad_out(out, g, torch.float64)
        G.options(name, label_smoothing=smoothing, reduction=reduction)
        for key, t in [("logits", logits), ("target", target), ("out", out),
                       ("grad_out", grad_out), ("dlogits", logits.grad)]:
            G.put(name, key, t)
    G.save("cross_entropy.safetensors")


# ---- 7. pre-norm transformer block (timm's Block, written out in plain torch) ----
def block_params(dim, hidden, g, dtype):
    """timm parameter names; values random (not torch's init) so every term matters."""
    def lin(out_f, in_f):
        return randn((out_f, in_f), g, dtype, 1.0 / math.sqrt(in_f)), randn((out_f,), g, dtype, 0.1)

    p = {}
    p["norm1.weight"], p["norm1.bias"] = 1.0 + randn((dim,), g, dtype, 0.2), randn((dim,), g, dtype, 0.1)
    p["attn.qkv.weight"], p["attn.qkv.bias"] = lin(3 * dim, dim)
    p["attn.proj.weight"], p["attn.proj.bias"] = lin(dim, dim)
    p["norm2.weight"], p["norm2.bias"] = 1.0 + randn((dim,), g, dtype, 0.2), randn((dim,), g, dtype, 0.1)
    p["mlp.fc1.weight"], p["mlp.fc1.bias"] = lin(hidden, dim)
    p["mlp.fc2.weight"], p["mlp.fc2.bias"] = lin(dim, hidden)
    return {k: leaf(v) for k, v in p.items()}


def block_forward(x, p, heads, eps):
    """timm.models.vision_transformer.Block with qkv_bias, no layer scale, no drop path."""
    b, n, dim = x.shape
    hd = dim // heads
    y = F.layer_norm(x, (dim,), p["norm1.weight"], p["norm1.bias"], eps)
    qkv = F.linear(y, p["attn.qkv.weight"], p["attn.qkv.bias"])
    qkv = qkv.reshape(b, n, 3, heads, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    a = F.scaled_dot_product_attention(q, k, v)
    a = a.transpose(1, 2).reshape(b, n, dim)
    x = x + F.linear(a, p["attn.proj.weight"], p["attn.proj.bias"])
    y = F.layer_norm(x, (dim,), p["norm2.weight"], p["norm2.bias"], eps)
    y = F.linear(F.gelu(F.linear(y, p["mlp.fc1.weight"], p["mlp.fc1.bias"])),
                 p["mlp.fc2.weight"], p["mlp.fc2.bias"])
    return x + y


def make_transformer_block():
    G = Golden()
    b, n, dim, heads, mlp_ratio, eps = 2, 5, 12, 3, 4, 1e-6
    for i, (name, dtype) in enumerate([("f64", torch.float64), ("f32", torch.float32)]):
        g = gen(700 + i)
        p = block_params(dim, dim * mlp_ratio, g, dtype)
        x = leaf(randn((b, n, dim), g, dtype))
        out = block_forward(x, p, heads, eps)
        grad_out = backward_with_grad_out(out, g, dtype)
        G.options(name, dim=dim, heads=heads, mlp_ratio=mlp_ratio, eps=eps)
        for key, t in [("x", x), ("out", out), ("grad_out", grad_out), ("dx", x.grad)]:
            G.put(name, key, t)
        for pname, t in p.items():
            G.put(name, "param." + pname, t)
            G.put(name, "grad." + pname, t.grad)
    G.save("transformer_block.safetensors")


# ---- 8. three AdamW steps on a small MLP ----
def make_adamw_mlp():
    G = Golden()
    g = gen(800)
    dtype = torch.float64
    batch, d_in, hidden, d_out = 8, 6, 16, 3
    lr, wd, betas, eps, steps = 1e-2, 0.05, (0.9, 0.95), 1e-8, 3
    model = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.GELU(),
                                torch.nn.Linear(hidden, d_out)).to(dtype)
    with torch.no_grad():
        for prm in model.parameters():
            prm.copy_(randn(prm.shape, g, dtype, 0.5))
    x = randn((batch, d_in), g, dtype)
    target = randn((batch, d_out), g, dtype)
    for pname, prm in model.named_parameters():
        G.put("mlp", "init." + pname, prm)
    G.put("mlp", "x", x)
    G.put("mlp", "target", target)
    # decay_groups' rule: parameters with >= 2 axes decay, biases do not.
    decay = [prm for prm in model.parameters() if prm.dim() >= 2]
    no_decay = [prm for prm in model.parameters() if prm.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=betas, eps=eps, foreach=False)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    G.put("mlp", "losses", torch.tensor(losses, dtype=dtype))
    for pname, prm in model.named_parameters():
        G.put("mlp", "final." + pname, prm)
    G.options("mlp", lr=lr, weight_decay=wd, betas=list(betas), eps=eps, steps=steps,
              layers=[d_in, hidden, d_out])
    G.save("adamw_mlp.safetensors")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    make_conv2d()
    make_layer_norm()
    make_batch_norm()
    make_attention()
    make_gelu()
    make_cross_entropy()
    make_transformer_block()
    make_adamw_mlp()


if __name__ == "__main__":
    main()
