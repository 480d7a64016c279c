"""Convert your own copy of a DINOv2 checkpoint to the .npz that ganbench's ``dinov2_*``
extractors read (docs/images.md, "DINOv2 features"). It never downloads anything.

    python scripts/convert_dinov2.py SOURCE OUT.npz

SOURCE is one of:

- the original torch hub checkpoint, ``dinov2_vit{s,b,l,g}14_pretrain.pth`` (what
  ``torch.hub.load("facebookresearch/dinov2", "dinov2_vitl14")`` keeps in
  ``~/.cache/torch/hub/checkpoints/``): read with your PyTorch (``weights_only=True``); its keys
  are already ganbench's (``patch_embed.proj.weight``, ``blocks.N.attn.qkv.weight``, ...);
- a Hugging Face checkpoint (``facebook/dinov2-large``): ``model.safetensors``, read with
  ``safetensors.numpy`` (no PyTorch needed), or ``pytorch_model.bin``, read with your PyTorch.
  Both the key names of transformers before 5 (``encoder.layer.N.attention.attention.query``,
  ``mlp.weights_in``, ...) and those of transformers 5 (``attention.q_proj``, ``o_proj``,
  ``mlp.gate_proj``, ``up_proj``, ``down_proj``) are renamed to the original layout: q, k, v
  are stacked into ``attn.qkv``, SwiGLU's gate and up projections into ``mlp.w12``. A
  ``dinov2.`` prefix (an image-classification checkpoint) is dropped with its ``classifier``.

Every array is written as float32. A key the script does not know stops it with its name (none
is dropped silently); ganbench then checks every key and shape when it loads the file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

_LAYER = {  # Hugging Face name inside encoder.layer.N -> original name inside blocks.N
    "norm1": "norm1",
    "norm2": "norm2",
    "layer_scale1.lambda1": "ls1.gamma",
    "layer_scale2.lambda1": "ls2.gamma",
    "attention.output.dense": "attn.proj",
    "attention.o_proj": "attn.proj",
    "mlp.fc1": "mlp.fc1",
    "mlp.fc2": "mlp.fc2",
    "mlp.weights_in": "mlp.w12",
    "mlp.weights_out": "mlp.w3",
    "mlp.down_proj": "mlp.w3",
}
_STACKED = {  # parts stacked along the output axis, in this order
    "attn.qkv": (("attention.attention.query", "attention.attention.key",
                  "attention.attention.value"),
                 ("attention.q_proj", "attention.k_proj", "attention.v_proj")),
    "mlp.w12": (("mlp.gate_proj", "mlp.up_proj"),),
}  # fmt: skip
_TOP = {
    "embeddings.cls_token": "cls_token",
    "embeddings.mask_token": "mask_token",
    "embeddings.position_embeddings": "pos_embed",
    "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "layernorm.weight": "norm.weight",
    "layernorm.bias": "norm.bias",
}


def from_hugging_face(sd: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A transformers ``Dinov2Model`` state dict in the original checkpoint's layout."""
    sd = {k.removeprefix("dinov2."): v for k, v in sd.items() if not k.startswith("classifier.")}
    out, parts = {}, {}
    for key, value in sd.items():
        m = re.fullmatch(r"encoder\.layer\.(\d+)\.(.+)\.(weight|bias|lambda1)", key)
        if key in _TOP:
            out[_TOP[key]] = value
        elif m and (f"{m[2]}.{m[3]}" in _LAYER or m[2] in _LAYER):
            name = _LAYER.get(f"{m[2]}.{m[3]}") or f"{_LAYER[m[2]]}.{m[3]}"
            out[f"blocks.{m[1]}.{name}"] = value
        elif m and any(m[2] in names for v in _STACKED.values() for names in v):
            parts[(m[1], m[2], m[3])] = value
        else:
            raise SystemExit(f"unknown key {key!r}: not a DINOv2 checkpoint this script knows")
    for layer, _, leaf in sorted(parts):
        for target, spellings in _STACKED.items():
            for names in spellings:
                if all((layer, n, leaf) in parts for n in names):
                    stacked = [parts.pop((layer, n, leaf)) for n in names]
                    out[f"blocks.{layer}.{target}.{leaf}"] = np.concatenate(stacked, axis=0)
    if parts:
        raise SystemExit(f"incomplete q/k/v or gate/up projections: {sorted(parts)[:3]}")
    return out


def read(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        return load_file(path)
    import torch

    sd = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.detach().to(torch.float32).numpy() for k, v in sd.items()}


def convert(source: Path, out: Path) -> dict[str, np.ndarray]:
    sd = read(source)
    if "patch_embed.proj.weight" not in sd:
        sd = from_hugging_face(sd)
    arrays = {k: np.ascontiguousarray(v, np.float32) for k, v in sd.items()}
    np.savez(out, **arrays)
    return arrays


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    arrays = convert(Path(sys.argv[1]), Path(sys.argv[2]))
    blocks = {k.split(".")[1] for k in arrays if k.startswith("blocks.")}
    width = arrays["patch_embed.proj.weight"].shape[0]
    print(f"wrote {sys.argv[2]}: {len(arrays)} arrays, width {width}, {len(blocks)} blocks")
