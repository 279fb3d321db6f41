"""Minimal Dream (masked diffusion LM built on Qwen2) in PyTorch, mirroring the
Hugging Face layout of Dream-org/Dream-v0-Base-7B (`modeling_dream.py`,
`configuration_dream.py`).

Parameter names match the HF checkpoint (Qwen2 layout):
  model.embed_tokens.weight                              [vocab_size, hidden]
  model.layers.{i}.input_layernorm.weight                [hidden]          (RMSNorm)
  model.layers.{i}.self_attn.q_proj.{weight,bias}        [n_heads*hd, hidden], [n_heads*hd]
  model.layers.{i}.self_attn.k_proj.{weight,bias}        [n_kv*hd, hidden],    [n_kv*hd]
  model.layers.{i}.self_attn.v_proj.{weight,bias}        [n_kv*hd, hidden],    [n_kv*hd]
  model.layers.{i}.self_attn.o_proj.weight               [hidden, n_heads*hd]  (no bias)
  model.layers.{i}.post_attention_layernorm.weight       [hidden]          (RMSNorm)
  model.layers.{i}.mlp.gate_proj.weight                  [intermediate, hidden]
  model.layers.{i}.mlp.up_proj.weight                    [intermediate, hidden]
  model.layers.{i}.mlp.down_proj.weight                  [hidden, intermediate]
  model.norm.weight                                      [hidden]
  lm_head.weight                                         [vocab_size, hidden] (untied unless
                                                          tie_word_embeddings)

Decoder layer (Qwen2 / Dream):
  h   = x + o_proj(SDPA(RoPE(q_proj(n)), RoPE(k_proj(n)), v_proj(n)))   n = input_layernorm(x)
  out = h + down_proj(silu(gate_proj(m)) * up_proj(m))                m = post_attention_layernorm(h)
Attention is grouped-query (k/v heads repeated n_heads/n_kv times, HF `repeat_kv`)
and BIDIRECTIONAL: Dream is a diffusion LM, so no causal mask (SDPA with
is_causal=False, attn_mask=None, scale 1/sqrt(head_dim)).
RoPE: rotate-half, inv_freq = rope_theta^(-arange(0,hd,2)/hd), positions 0..T-1.
RMSNorm: weight * (x * rsqrt(mean(x^2) + eps)), computed in f32.

Note: Dream's logits are "shifted" at sampling time (the prediction for position
i is read from logits[i-1]); the model forward itself returns logits for every
position, exactly like a causal LM head, and that is what is exported here.

The forward takes input_ids [B, T] int64 and returns logits [B, T, vocab_size].
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class DreamConfig:
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    vocab_size: int = 64
    max_position_embeddings: int = 128
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1000000.0
    tie_word_embeddings: bool = False
    initializer_range: float = 0.02
    mask_token_id: int = 2
    pad_token_id: int = 0
    bos_token_id: int = 1
    eos_token_id: int = 1

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def to_hf_dict(self) -> dict:
        """config.json in Dream's key layout (Dream-org/Dream-v0-Base-7B)."""
        return {
            "architectures": ["DreamModel"],
            "attention_dropout": 0.0,
            "auto_map": {
                "AutoConfig": "configuration_dream.DreamConfig",
                "AutoModel": "modeling_dream.DreamModel",
            },
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "hidden_act": "silu",
            "hidden_size": self.hidden_size,
            "initializer_range": self.initializer_range,
            "intermediate_size": self.intermediate_size,
            "mask_token_id": self.mask_token_id,
            "max_position_embeddings": self.max_position_embeddings,
            "max_window_layers": self.num_hidden_layers,
            "model_type": "Dream",
            "num_attention_heads": self.num_attention_heads,
            "num_hidden_layers": self.num_hidden_layers,
            "num_key_value_heads": self.num_key_value_heads,
            "pad_token_id": self.pad_token_id,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_scaling": None,
            "rope_theta": self.rope_theta,
            "sliding_window": None,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "float32",
            "use_cache": False,
            "use_sliding_window": False,
            "vocab_size": self.vocab_size,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "DreamConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names and v is not None})

    @classmethod
    def from_json(cls, path: str) -> "DreamConfig":
        with open(path) as f:
            return cls.from_dict(json.load(f))


class DreamRMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.variance_epsilon = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        og = x.dtype
        x = x.to(torch.float32)
        variance = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * x.to(og)


class DreamRotaryEmbedding(nn.Module):
    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, input_ids: torch.Tensor):
        T = input_ids.shape[1]
        pos = torch.arange(T, dtype=torch.float32, device=input_ids.device)
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)  # [T, hd]
        return emb.cos()[None, None], emb.sin()[None, None]  # [1, 1, T, hd]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[B, n_kv, T, hd] -> [B, n_kv*n_rep, T, hd] (HF repeat_kv: expand + reshape)."""
    if n_rep == 1:
        return x
    B, n_kv, T, hd = x.shape
    return x[:, :, None, :, :].expand(B, n_kv, n_rep, T, hd).reshape(B, n_kv * n_rep, T, hd)


class DreamAttention(nn.Module):
    def __init__(self, cfg: DreamConfig):
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.num_attention_heads * hd, bias=True)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * hd, bias=True)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * hd, bias=True)
        self.o_proj = nn.Linear(cfg.num_attention_heads * hd, cfg.hidden_size, bias=False)

    def forward(self, x, cos, sin):
        cfg = self.cfg
        B, T, _ = x.shape
        hd = cfg.head_dim
        q = self.q_proj(x).view(B, T, cfg.num_attention_heads, hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, cfg.num_key_value_heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, cfg.num_key_value_heads, hd).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        rep = cfg.num_attention_heads // cfg.num_key_value_heads
        k = repeat_kv(k, rep)
        v = repeat_kv(v, rep)
        # bidirectional: no mask, not causal (Dream's SdpaAttention with attention_mask=None)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False)
        y = y.transpose(1, 2).reshape(B, T, cfg.num_attention_heads * hd)
        return self.o_proj(y)


class DreamMLP(nn.Module):
    def __init__(self, cfg: DreamConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DreamDecoderLayer(nn.Module):
    def __init__(self, cfg: DreamConfig):
        super().__init__()
        self.self_attn = DreamAttention(cfg)
        self.mlp = DreamMLP(cfg)
        self.input_layernorm = DreamRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = DreamRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class DreamBaseModel(nn.Module):
    def __init__(self, cfg: DreamConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DreamDecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = DreamRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.rotary_emb = DreamRotaryEmbedding(cfg.head_dim, cfg.rope_theta)

    def forward(self, input_ids):
        x = self.embed_tokens(input_ids)
        cos, sin = self.rotary_emb(input_ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.norm(x)


class DreamModel(nn.Module):
    """Top-level: `model.*` + `lm_head`, as in the HF checkpoint."""

    def __init__(self, cfg: DreamConfig):
        super().__init__()
        self.config = cfg
        self.model = DreamBaseModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.reset_parameters()

    def reset_parameters(self):
        std = self.config.initializer_range
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                nn.init.ones_(p)
            elif name.endswith(".bias"):
                # HF zero-inits biases; small random values so the export exercises them
                nn.init.normal_(p, 0.0, std)
            else:
                nn.init.normal_(p, 0.0, std)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.model(input_ids))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def save_pretrained(self, out_dir: str):
        from safetensors.torch import save_file

        os.makedirs(out_dir, exist_ok=True)
        sd = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in self.state_dict().items()}
        if self.config.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(out_dir, "config.json"), "w") as f:
            json.dump(self.config.to_hf_dict(), f, indent=2, sort_keys=True)
            f.write("\n")

    @classmethod
    def from_pretrained(cls, model_dir: str) -> "DreamModel":
        from safetensors.torch import load_file

        cfg = DreamConfig.from_json(os.path.join(model_dir, "config.json"))
        m = cls(cfg)
        m.load_state_dict(load_file(os.path.join(model_dir, "model.safetensors")), strict=not cfg.tie_word_embeddings)
        m.eval()
        return m
