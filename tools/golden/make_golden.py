#!/usr/bin/env python3
"""Make float64 golden cases from the official Differential Transformer modules.

This is our own harness around the *unmodified* official PyTorch files of microsoft/unilm
(Diff-Transformer).  Those files need CUDA-only dependencies (flash-attn / flex_head_fa, a Triton
rotary kernel, optionally apex); this script registers plain-PyTorch stand-ins for them in
sys.modules, loads the official files from --official, runs them on the CPU in float64 and writes
safetensors files in the layout of tests/DiffTransformer.Tests/fixtures/golden/README.md.

Modes
  official  the official code as written.  It rounds to float32 in three places even in a float64
            run: lambda (`.float()` in multihead_flashdiff_1.py), the RMSNorm input (`x.float()` in
            rms_norm.py) and the softmax of multihead_attention.py (`F.softmax(..., dtype=float32)`).
  exact     the same code with those round trips disabled: torch.Tensor.float is the identity on a
            float64 tensor and F.softmax ignores `dtype=` for a float64 input.  Nothing else changes,
            so the results are the official float64 computation without float32 rounding.

Usage
  make_golden.py --official DIR --mode exact --out OUTDIR [--cases v1_mha,v2_gqa]
  make_golden.py --official DIR --mode official --validate GOLDEN_DIR
      (--validate re-runs every *.safetensors in GOLDEN_DIR from its stored weights, inputs and
       output weight, and prints the largest relative error of the output and of every gradient.)

--official is searched recursively (shallowest match wins) for multihead_flashdiff_1.py,
multihead_attention.py, rms_norm.py, multihead_flashdiffv2.py and, optionally, multihead_diffattn.py
(the naive V1, used only for cross-checks).  So it may be the Diff-Transformer folder of a
microsoft/unilm checkout (V2 lives in its Diff-Transformer-V2/ subfolder) or a flat folder holding
those files.  Older versions of the files (relative imports, an `args` constructor) load as well.
kernel/rotary.py is not needed: it is replaced.

Needs only torch (1.13 or later, CPU) and numpy; the safetensors format is written and read here.
"""

import argparse
import importlib.util
import inspect
import json
import math
import os
import struct
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F

ROPE_THETA = 10000.0

# name: variant and configuration.  Each case has its own seed for the weights and inputs.
CASES = {
    "v1_mha":       dict(variant="v1", embed_dim=32, depth=1, num_heads=2, num_kv_heads=2, B=2, T=7, seed=101),
    "v1_gqa":       dict(variant="v1", embed_dim=64, depth=3, num_heads=4, num_kv_heads=2, B=2, T=9, seed=102),
    "baseline_mha": dict(variant="baseline", embed_dim=32, num_heads=4, num_kv_heads=4, B=2, T=7, seed=103),
    "baseline_gqa": dict(variant="baseline", embed_dim=32, num_heads=4, num_kv_heads=2, B=1, T=9, seed=104),
    # v2: num_kv_heads None is passed to the module as None (it then uses num_heads).
    "v2_mha":       dict(variant="v2", embed_dim=32, num_heads=2, num_kv_heads=None, head_dim=8, B=2, T=7, seed=105),
    "v2_gqa":       dict(variant="v2", embed_dim=32, num_heads=4, num_kv_heads=1, head_dim=8, B=1, T=9, seed=106),
}

OFFICIAL_FILES = {
    "v1": "multihead_flashdiff_1.py",
    "baseline": "multihead_attention.py",
    "v2": "multihead_flashdiffv2.py",
    "rms_norm": "rms_norm.py",
}
# Optional: the naive V1 (explicit softmax, float32 in official mode).  Used only to cross-check:
# for MHA it computes the same function as the flash file; for GQA it pairs heads differently.
OPTIONAL_FILES = {"v1_naive": "multihead_diffattn.py"}

# ---------------------------------------------------------------------------------------------
# Stand-ins for the CUDA-only dependencies of the official files
# ---------------------------------------------------------------------------------------------


def flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False, **unused):
    """Plain-PyTorch flash_attn_func: q [B,Tq,Hq,D], k [B,Tk,Hk,D], v [B,Tk,Hk,Dv] -> [B,Tq,Hq,Dv].

    Grouped heads as in flash-attn: query head h reads kv head h // (Hq // Hk).  Scale D**-0.5 by
    default.  Causal masking is aligned to the bottom-right corner (flash-attn >= 2.1), which for
    Tq == Tk (all uses here) is the usual "position i sees 0..i".  Computed in the input dtype.
    """
    assert dropout_p == 0.0, "dropout is not supported by the stand-in"
    bsz, tq, hq, d = q.shape
    tk, hk = k.shape[1], k.shape[2]
    assert hq % hk == 0 and v.shape[2] == hk
    scale = d ** -0.5 if softmax_scale is None else softmax_scale
    kv_head = torch.arange(hq, device=q.device) // (hq // hk)
    k = k.index_select(2, kv_head)
    v = v.index_select(2, kv_head)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) * scale
    if causal:
        hidden = torch.ones(tq, tk, dtype=torch.bool, device=q.device).triu(1 + tk - tq)
        scores = scores.masked_fill(hidden, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return torch.einsum("bhqk,bkhd->bqhd", probs, v)


def apply_rotary_emb(x, cos, sin, interleaved=False, inplace=False, seqlen_offsets=0,
                     cu_seqlens=None, max_seqlen=None):
    """Plain-PyTorch stand-in for the Triton apply_rotary_emb (kernel/rotary.py).

    x [B,T,H,D]; cos, sin [T_ro, rotary_dim/2].  Interleaved (GPT-J) layout: the pair (2i, 2i+1)
    is rotated by the angle whose cos/sin are cos[t, i]/sin[t, i].  Dimensions past rotary_dim are
    passed through.  Differentiable through autograd; computed in the input dtype.
    """
    assert interleaved, "only the interleaved layout is used by the official modules"
    assert cu_seqlens is None and isinstance(seqlen_offsets, int)
    assert x.dtype == cos.dtype == sin.dtype, "the official kernel requires equal dtypes"
    t = x.shape[1]
    rotary_dim = 2 * cos.shape[-1]
    c = cos[seqlen_offsets:seqlen_offsets + t][None, :, None, :]
    s = sin[seqlen_offsets:seqlen_offsets + t][None, :, None, :]
    x_even = x[..., 0:rotary_dim:2]
    x_odd = x[..., 1:rotary_dim:2]
    rotated = torch.stack((x_even * c - x_odd * s, x_even * s + x_odd * c), dim=-1).flatten(-2)
    if rotary_dim < x.shape[-1]:
        rotated = torch.cat((rotated, x[..., rotary_dim:]), dim=-1)
    return rotated


def _no_compile(fn=None, **unused):
    """torch.compile replacement (identity): torch 1.13 has none, and eager float64 is what we want."""
    if fn is None:
        return lambda f: f
    return fn


# ---------------------------------------------------------------------------------------------
# Loading the official files
# ---------------------------------------------------------------------------------------------

PKG = "_official_difft"  # synthetic package, so the older files' relative imports resolve


def _find(root, name, required=True):
    hits = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if name in filenames:
            hits.append(os.path.join(dirpath, name))
    if not hits:
        if not required:
            return None
        sys.exit(f"{name} not found under {root}")
    hits.sort(key=lambda p: (p.count(os.sep), p))  # the shallowest one (the current unilm layout)
    return hits[0]


def _load_file(modname, path):
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


def load_official(root):
    """Register the stand-ins, then import the official files. Returns {variant: module}."""
    flash = types.ModuleType("flash_attn")
    flash.flash_attn_func = flash_attn_func
    flex = types.ModuleType("flex_head_fa")  # the current multihead_flashdiff_1.py imports this name
    flex.flash_attn_func = flash_attn_func
    rotary = types.ModuleType("kernel.rotary")
    rotary.apply_rotary_emb = apply_rotary_emb
    kernel = types.ModuleType("kernel")
    kernel.__path__ = []
    kernel.rotary = rotary
    package = types.ModuleType(PKG)
    package.__path__ = []
    sys.modules.update({
        "flash_attn": flash, "flex_head_fa": flex,
        "kernel": kernel, "kernel.rotary": rotary,
        PKG: package, PKG + ".kernel": kernel, PKG + ".kernel.rotary": rotary,
        "apex": None,  # make `from apex.normalization import FusedRMSNorm` fail -> official rms_norm.py
    })
    torch.compile = _no_compile

    paths = {key: _find(root, name) for key, name in OFFICIAL_FILES.items()}
    for key, name in OPTIONAL_FILES.items():
        path = _find(root, name, required=False)
        if path is not None:
            paths[key] = path
    rms = _load_file(PKG + ".rms_norm", paths["rms_norm"])
    sys.modules["rms_norm"] = rms
    modules = {v: _load_file(PKG + "." + v, paths[v]) for v in paths if v != "rms_norm"}
    for key, path in sorted(paths.items()):
        print(f"official {key:9s} {os.path.relpath(path, root)}")
    return modules


# ---------------------------------------------------------------------------------------------
# exact mode: no float32 round trips
# ---------------------------------------------------------------------------------------------

_original_float = torch.Tensor.float
_original_softmax = F.softmax


def _float_keeping_float64(self, *args, **kwargs):
    if self.dtype == torch.float64:
        return self
    return _original_float(self, *args, **kwargs)


def _softmax_keeping_float64(input, dim=None, _stacklevel=3, dtype=None):
    if dtype is not None and input.dtype == torch.float64:
        dtype = None
    return _original_softmax(input, dim=dim, _stacklevel=_stacklevel, dtype=dtype)


def set_mode(mode):
    if mode == "exact":
        torch.Tensor.float = _float_keeping_float64
        F.softmax = _softmax_keeping_float64
    else:
        torch.Tensor.float = _original_float
        F.softmax = _original_softmax


# ---------------------------------------------------------------------------------------------
# Building the modules, rotary tables
# ---------------------------------------------------------------------------------------------


def rotary_dim_of(cfg):
    if cfg["variant"] == "v1":
        return cfg["embed_dim"] // cfg["num_heads"] // 2
    if cfg["variant"] == "baseline":
        return cfg["embed_dim"] // cfg["num_heads"]
    return cfg["head_dim"]


def rotary_tables(t, head_dim, theta=ROPE_THETA):
    """cos/sin [T, head_dim/2] of the angle pos * theta^(-2i/head_dim), in float64."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(angles), torch.sin(angles)


def build_module(official, cfg, naive=False):
    """The official module for cfg; naive=True builds multihead_diffattn.py's V1 instead."""
    variant = cfg["variant"]
    if variant == "v1":
        if naive:
            cls = official["v1_naive"].MultiheadDiffAttn
        else:
            cls = official["v1"].MultiheadFlashDiff1
        if "args" in inspect.signature(cls.__init__).parameters:
            # older files (Oct 2024): (args, embed_dim, depth, num_heads), kv heads from args
            args = types.SimpleNamespace(model_parallel_size=1,
                                         decoder_kv_attention_heads=cfg["num_kv_heads"])
            module = cls(args, cfg["embed_dim"], cfg["depth"], cfg["num_heads"])
        else:  # current files: (embed_dim, depth, num_heads, num_kv_heads=None)
            module = cls(cfg["embed_dim"], cfg["depth"], cfg["num_heads"],
                         num_kv_heads=cfg["num_kv_heads"])
    elif variant == "baseline":
        module = official["baseline"].MultiheadAttention(
            cfg["embed_dim"], 0, cfg["num_heads"], num_kv_heads=cfg["num_kv_heads"])
    elif variant == "v2":
        module = official["v2"].MultiheadFlashDiffV2(
            True, cfg["embed_dim"], cfg["num_heads"], cfg["num_kv_heads"], cfg["head_dim"])
    else:
        raise ValueError(variant)
    return module.double()


def draw_parameters(module, gen):
    """Our own random weights (not the official init), drawn in float64 in state-dict name order."""
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            if name.startswith("lambda_q") or name.startswith("lambda_k") or name == "lambda_proj.weight":
                # lambdas (V1 vectors, V2 projection) of order 1, so both maps matter
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
            elif name == "subln.weight":
                p.copy_(1.0 + 0.25 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
            elif name.endswith("proj.weight"):
                bound = 1.0 / math.sqrt(p.shape[1])  # nn.Linear's own scale
                p.copy_((torch.rand(p.shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound)
            else:
                raise ValueError(f"unexpected parameter {name}")


def run_case(module, x, cos, sin, w):
    """y = module(x, (cos, sin)); loss = sum(y * W); backward. Returns y and gradients."""
    module.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    y = module(x, (cos, sin))
    (y * w).sum().backward()
    grads = {"grad.x": x.grad.detach().clone()}
    for name, p in module.named_parameters():
        grads["grad." + name] = p.grad.detach().clone()
    return y.detach(), grads


def metadata_of(case, cfg, mode):
    """Metadata strings in the key order of the existing files, plus `mode`."""
    variant = cfg["variant"]
    kv = cfg["num_kv_heads"] if cfg["num_kv_heads"] is not None else cfg["num_heads"]
    meta = {"variant": variant, "embed_dim": str(cfg["embed_dim"])}
    if variant == "v1":
        meta["depth"] = str(cfg["depth"])
    meta["num_heads"] = str(cfg["num_heads"])
    meta["num_kv_heads"] = str(kv)
    if variant == "v2":
        meta["head_dim"] = str(cfg["head_dim"])
    meta.update({"case": case, "B": str(cfg["B"]), "T": str(cfg["T"]),
                 "rope_theta": str(ROPE_THETA), "rope": "interleaved", "causal": "True",
                 "mode": mode})
    return meta


# ---------------------------------------------------------------------------------------------
# safetensors (own writer / reader; all tensors F64)
# ---------------------------------------------------------------------------------------------


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):  # sorted names, as in the existing files
        data = np.ascontiguousarray(tensors[name].detach().cpu().numpy(), dtype="<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad with spaces to a multiple of 8
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F64", (name, info["dtype"])
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], dtype="<f8").reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


# ---------------------------------------------------------------------------------------------
# Independent float64 reference (our own code, written from the conventions in the golden README)
# used to check that exact mode leaves no float32 rounding behind.
# ---------------------------------------------------------------------------------------------


def _ref_rope(x, cos, sin):
    out = x.clone()
    for i in range(cos.shape[1]):
        a, b = x[..., 2 * i], x[..., 2 * i + 1]
        c, s = cos[:, i][None, :, None], sin[:, i][None, :, None]
        out[..., 2 * i] = a * c - b * s
        out[..., 2 * i + 1] = a * s + b * c
    return out


def _ref_attention(q, k, v, kv_of):
    """q [B,T,H,D], k [B,T,Hk,D], v [B,T,Hk,Dv]; head h reads kv head kv_of(h); causal by slicing."""
    bsz, t, h, d = q.shape
    out = torch.zeros(bsz, t, h, v.shape[-1], dtype=q.dtype)
    for b in range(bsz):
        for hh in range(h):
            g = kv_of(hh)
            for i in range(t):
                scores = (k[b, : i + 1, g] @ q[b, i, hh]) / math.sqrt(d)
                p = torch.exp(scores - scores.max())
                out[b, i, hh] = (p / p.sum()) @ v[b, : i + 1, g]
    return out


def reference_forward(cfg, sd, x, cos, sin):
    e, hq, bsz, t = cfg["embed_dim"], cfg["num_heads"], x.shape[0], x.shape[1]
    hk = cfg["num_kv_heads"] if cfg["num_kv_heads"] is not None else hq
    if cfg["variant"] == "v1":
        d = e // hq // 2
        rep = hq // hk
        q = _ref_rope((x @ sd["q_proj.weight"].T).view(bsz, t, 2 * hq, d), cos, sin)
        k = _ref_rope((x @ sd["k_proj.weight"].T).view(bsz, t, 2 * hk, d), cos, sin)
        v = (x @ sd["v_proj.weight"].T).view(bsz, t, hk, 2 * d)
        a1 = _ref_attention(q[:, :, 0::2], k[:, :, 0::2], v, lambda h: h // rep)
        a2 = _ref_attention(q[:, :, 1::2], k[:, :, 1::2], v, lambda h: h // rep)
        lambda_init = 0.8 - 0.6 * math.exp(-0.3 * cfg["depth"])
        lam = (torch.exp((sd["lambda_q1"] * sd["lambda_k1"]).sum())
               - torch.exp((sd["lambda_q2"] * sd["lambda_k2"]).sum()) + lambda_init)
        a = a1 - lam * a2
        a = a / torch.sqrt((a * a).mean(-1, keepdim=True) + 1e-5) * sd["subln.weight"]
        a = (a * (1 - lambda_init)).reshape(bsz, t, e)
        return a @ sd["out_proj.weight"].T
    if cfg["variant"] == "baseline":
        d = e // hq
        rep = hq // hk
        q = _ref_rope((x @ sd["q_proj.weight"].T).view(bsz, t, hq, d), cos, sin)
        k = _ref_rope((x @ sd["k_proj.weight"].T).view(bsz, t, hk, d), cos, sin)
        v = (x @ sd["v_proj.weight"].T).view(bsz, t, hk, d)
        a = _ref_attention(q, k, v, lambda h: h // rep).reshape(bsz, t, e)
        return a @ sd["out_proj.weight"].T
    d = cfg["head_dim"]
    rep = 2 * hq // hk
    q = _ref_rope((x @ sd["q_proj.weight"].T).view(bsz, t, 2 * hq, d), cos, sin)
    k = _ref_rope((x @ sd["k_proj.weight"].T).view(bsz, t, hk, d), cos, sin)
    v = (x @ sd["v_proj.weight"].T).view(bsz, t, hk, d)
    a = _ref_attention(q, k, v, lambda h: h // rep)
    lam = torch.sigmoid(x @ sd["lambda_proj.weight"].T)  # [B,T,H]
    a = a[:, :, 0::2] - lam[..., None] * a[:, :, 1::2]
    return a.reshape(bsz, t, hq * d) @ sd["o_proj.weight"].T


def reference_check(cfg, sd, x, cos, sin, w, y, grads):
    """Largest relative difference between the module run and the reference (output and grads)."""
    params = {k: v.detach().clone().requires_grad_(True) for k, v in sd.items()}
    xr = x.detach().clone().requires_grad_(True)
    yr = reference_forward(cfg, params, xr, cos, sin)
    (yr * w).sum().backward()
    worst = rel_err(yr.detach(), y)
    worst = max(worst, rel_err(xr.grad, grads["grad.x"]))
    for k, p in params.items():
        worst = max(worst, rel_err(p.grad, grads["grad." + k]))
    return worst


def rel_err(a, b):
    """max |a - b| / max |b|."""
    scale = b.abs().max().item()
    return (a - b).abs().max().item() / (scale if scale > 0 else 1.0)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def generate(official, case, cfg, mode, out_dir):
    gen = torch.Generator().manual_seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])  # the official constructors draw (unused) initial weights
    module = build_module(official, cfg)
    draw_parameters(module, gen)
    shape = (cfg["B"], cfg["T"], cfg["embed_dim"])
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    w = torch.randn(shape, generator=gen, dtype=torch.float64)
    cos, sin = rotary_tables(cfg["T"], rotary_dim_of(cfg))
    y, grads = run_case(module, x, cos, sin, w)

    tensors = {k: v.detach().clone() for k, v in module.state_dict().items()}
    tensors.update({"input.x": x, "input.cos": cos, "input.sin": sin, "output.y": y,
                    "grad.output_weight": w})
    tensors.update(grads)
    path = os.path.join(out_dir, case + ".safetensors")
    write_safetensors(path, tensors, metadata_of(case, cfg, mode))

    # Cross-checks (printed only): our own float64 reference, and for V1 the naive official file.
    checks = f"own float64 reference {reference_check(cfg, module.state_dict(), x, cos, sin, w, y, grads):.2e}"
    if cfg["variant"] == "v1" and "v1_naive" in official:
        naive = build_module(official, cfg, naive=True)
        naive.load_state_dict(module.state_dict())
        checks += f", naive multihead_diffattn.py {compare(naive, x, cos, sin, w, y, grads)[0]:.2e}"
    print(f"{case:13s} -> {path} ({os.path.getsize(path)} bytes)")
    print(f"    max|y| {y.abs().max().item():.6f}  max|grad.x| {grads['grad.x'].abs().max().item():.6f}"
          f"  max rel diff vs {checks}")


def config_from_metadata(meta):
    cfg = {"variant": meta["variant"], "embed_dim": int(meta["embed_dim"]),
           "num_heads": int(meta["num_heads"]), "num_kv_heads": int(meta["num_kv_heads"]),
           "B": int(meta["B"]), "T": int(meta["T"])}
    if "depth" in meta:
        cfg["depth"] = int(meta["depth"])
    if "head_dim" in meta:
        cfg["head_dim"] = int(meta["head_dim"])
    return cfg


def compare(module, x, cos, sin, w, y_expected, grads_expected):
    """Run module; return (largest relative error over output and gradients, per-tensor errors)."""
    y, grads = run_case(module, x, cos, sin, w)
    errors = {"output.y": rel_err(y, y_expected)}
    for k, g in grads.items():
        errors[k] = rel_err(g, grads_expected[k])
    return max(errors.values()), errors


def validate(official, golden_dir, mode):
    """Re-run each stored case from its own weights and inputs; print the relative errors.

    V1 files are re-run with both the flash file and (if present) the naive multihead_diffattn.py.
    """
    for fname in sorted(os.listdir(golden_dir)):
        if not fname.endswith(".safetensors"):
            continue
        tensors, meta = read_safetensors(os.path.join(golden_dir, fname))
        cfg = config_from_metadata(meta)
        own_cos, own_sin = rotary_tables(cfg["T"], rotary_dim_of(cfg))
        cos, sin = tensors["input.cos"], tensors["input.sin"]
        print(f"{fname}  ({mode} mode; stored cos/sin vs our rotary_tables: "
              f"{max(rel_err(own_cos, cos), rel_err(own_sin, sin)):.1e})")
        impls = [("flash" if cfg["variant"] != "baseline" else "official", False)]
        if cfg["variant"] == "v1" and "v1_naive" in official:
            impls.append(("naive", True))
        for label, naive in impls:
            module = build_module(official, cfg, naive=naive)
            module.load_state_dict({k: tensors[k] for k in module.state_dict()})
            worst, errors = compare(module, tensors["input.x"], cos, sin,
                                    tensors["grad.output_weight"], tensors["output.y"], tensors)
            detail = ", ".join(f"{k} {v:.1e}" for k, v in sorted(errors.items()))
            print(f"    {label:8s} max rel err {worst:.2e}   [{detail}]")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", required=True, help="folder holding the official .py files")
    parser.add_argument("--mode", choices=("official", "exact"), required=True)
    parser.add_argument("--out", help="output folder for <case>.safetensors")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    parser.add_argument("--validate", metavar="GOLDEN_DIR",
                        help="re-run the stored cases in GOLDEN_DIR instead of generating")
    opts = parser.parse_args()

    torch.set_num_threads(1)  # deterministic reductions
    official = load_official(opts.official)
    set_mode(opts.mode)
    if opts.validate:
        validate(official, opts.validate, opts.mode)
        return
    if not opts.out:
        parser.error("--out is required unless --validate is given")
    os.makedirs(opts.out, exist_ok=True)
    for case in opts.cases.split(","):
        generate(official, case, CASES[case], opts.mode, opts.out)


if __name__ == "__main__":
    main()
