"""Minimal LLaDA (masked diffusion LM) in PyTorch, mirroring the Hugging Face
layout of GSAI-ML/LLaDA-8B (`modeling_llada.py`, `configuration_llada.py`).

Parameter names match the HF checkpoint exactly:
  model.transformer.wte.weight                          [embedding_size, d_model]
  model.transformer.blocks.{i}.attn_norm.weight         [d_model]            (RMSNorm)
  model.transformer.blocks.{i}.ff_norm.weight           [d_model]            (RMSNorm)
  model.transformer.blocks.{i}.q_proj.weight            [n_heads*hd, d_model]
  model.transformer.blocks.{i}.k_proj.weight            [n_kv_heads*hd, d_model]
  model.transformer.blocks.{i}.v_proj.weight            [n_kv_heads*hd, d_model]
  model.transformer.blocks.{i}.attn_out.weight          [d_model, d_model]
  model.transformer.blocks.{i}.ff_proj.weight           [mlp_hidden_size, d_model]
  model.transformer.blocks.{i}.up_proj.weight           [mlp_hidden_size, d_model]
  model.transformer.blocks.{i}.ff_out.weight            [d_model, mlp_hidden_size]
  model.transformer.ln_f.weight                         [d_model]
  model.transformer.ff_out.weight                       [embedding_size, d_model] (untied head)

Block (LLaDALlamaBlock):
  h   = x + attn_out(SDPA(RoPE(q_proj(attn_norm(x))), RoPE(k_proj(.)), v_proj(.)))   non-causal
  out = h + ff_out(silu(ff_proj(ff_norm(h))) * up_proj(ff_norm(h)))
RoPE is the OLMo/LLaDA rotate-half variant: inv_freq = theta^(-arange(0,hd,2)/hd),
angles = cat(freqs, freqs), rotate_half(x) = cat(-x2, x1), applied in f32.
RMSNorm: x * rsqrt(mean(x^2) + eps) * weight, computed in f32.

The forward takes input_ids [B, T] int64 and returns logits [B, T, embedding_size];
it has no data-dependent Python control flow, so torch.onnx.export traces it.

Also here: the LLaDA sampler (`generate`, `get_num_transfer_tokens`, same
semantics as ML-GSAI/LLaDA generate.py) and the character-level tokenizer.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, asdict, fields

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------


@dataclass
class LLaDAConfig:
    d_model: int = 256
    n_heads: int = 8
    n_kv_heads: int = 8
    n_layers: int = 4
    mlp_hidden_size: int = 512
    mlp_ratio: int = 2
    vocab_size: int = 64
    embedding_size: int = 64
    max_sequence_length: int = 64
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    mask_token_id: int = 2
    eos_token_id: int = 1
    pad_token_id: int = 0
    init_std: float = 0.02

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_hf_dict(self) -> dict:
        """config.json in LLaDA's key layout (GSAI-ML/LLaDA-8B-Instruct)."""
        return {
            "activation_type": "silu",
            "alibi": False,
            "alibi_bias_max": 8.0,
            "architectures": ["LLaDAModelLM"],
            "attention_dropout": 0.0,
            "attention_layer_norm": False,
            "attention_layer_norm_with_affine": True,
            "bias_for_layer_norm": False,
            "block_group_size": 1,
            "block_type": "llama",
            "d_model": self.d_model,
            "embedding_dropout": 0.0,
            "embedding_size": self.embedding_size,
            "eos_token_id": self.eos_token_id,
            "flash_attention": False,
            "include_bias": False,
            "include_qkv_bias": False,
            "init_cutoff_factor": None,
            "init_device": "cpu",
            "init_fn": "normal",
            "init_std": self.init_std,
            "input_emb_norm": False,
            "layer_norm_type": "rms",
            "layer_norm_with_affine": True,
            "mask_token_id": self.mask_token_id,
            "max_sequence_length": self.max_sequence_length,
            "mlp_hidden_size": self.mlp_hidden_size,
            "mlp_ratio": self.mlp_ratio,
            "model_type": "llada",
            "multi_query_attention": None,
            "n_heads": self.n_heads,
            "n_kv_heads": self.n_kv_heads,
            "n_layers": self.n_layers,
            "pad_token_id": self.pad_token_id,
            "precision": "fp32",
            "residual_dropout": 0.0,
            "rms_norm_eps": self.rms_norm_eps,
            "rope": True,
            "rope_full_precision": True,
            "rope_theta": self.rope_theta,
            "scale_logits": False,
            "torch_dtype": "float32",
            "use_cache": False,
            "vocab_size": self.vocab_size,
            "weight_tying": False,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "LLaDAConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names and v is not None})

    @classmethod
    def from_json(cls, path: str) -> "LLaDAConfig":
        with open(path) as f:
            return cls.from_dict(json.load(f))


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------


class RMSLayerNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        og = x.dtype
        x = x.to(torch.float32)
        variance = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        return self.weight * x.to(og)


class RotaryEmbedding(nn.Module):
    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def cos_sin(self, seq_len_like: torch.Tensor):
        # positions 0..T-1 derived from the input's shape (traced as a Range op in ONNX)
        T = seq_len_like.shape[1]
        pos = torch.arange(T, dtype=torch.float32, device=seq_len_like.device)
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)  # [T, hd]
        return emb.cos()[None, None], emb.sin()[None, None]

    @staticmethod
    def rotate_half(x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        x1 = x[..., :half]
        x2 = x[..., half:]
        return torch.cat((-x2, x1), dim=-1)

    def apply(self, t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        og = t.dtype
        t = t.to(torch.float32)
        return ((t * cos) + (self.rotate_half(t) * sin)).to(og)


class LLaDALlamaBlock(nn.Module):
    def __init__(self, cfg: LLaDAConfig):
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        d = cfg.d_model
        self.attn_norm = RMSLayerNorm(d, cfg.rms_norm_eps)
        self.ff_norm = RMSLayerNorm(d, cfg.rms_norm_eps)
        self.q_proj = nn.Linear(d, cfg.n_heads * hd, bias=False)
        self.k_proj = nn.Linear(d, cfg.n_kv_heads * hd, bias=False)
        self.v_proj = nn.Linear(d, cfg.n_kv_heads * hd, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_proj = nn.Linear(d, cfg.mlp_hidden_size, bias=False)
        self.up_proj = nn.Linear(d, cfg.mlp_hidden_size, bias=False)
        self.ff_out = nn.Linear(cfg.mlp_hidden_size, d, bias=False)
        self.rotary_emb = RotaryEmbedding(hd, cfg.rope_theta)

    def attention(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        B, T, C = x.shape
        hd = cfg.head_dim
        q = self.q_proj(x).view(B, T, cfg.n_heads, hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, cfg.n_kv_heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, cfg.n_kv_heads, hd).transpose(1, 2)
        q = self.rotary_emb.apply(q, cos, sin)
        k = self.rotary_emb.apply(k, cos, sin)
        if cfg.n_kv_heads != cfg.n_heads:
            rep = cfg.n_heads // cfg.n_kv_heads
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        # bidirectional (non-causal) softmax attention, scale 1/sqrt(head_dim)
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.attn_out(y)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attn_norm(x), cos, sin)
        h = self.ff_norm(x)
        h = F.silu(self.ff_proj(h)) * self.up_proj(h)
        return x + self.ff_out(h)


class LLaDAModel(nn.Module):
    def __init__(self, cfg: LLaDAConfig):
        super().__init__()
        self.cfg = cfg
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(cfg.embedding_size, cfg.d_model),
                blocks=nn.ModuleList([LLaDALlamaBlock(cfg) for _ in range(cfg.n_layers)]),
                ln_f=RMSLayerNorm(cfg.d_model, cfg.rms_norm_eps),
                ff_out=nn.Linear(cfg.d_model, cfg.embedding_size, bias=False),
            )
        )

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.transformer.wte(input_ids)
        cos, sin = self.transformer.blocks[0].rotary_emb.cos_sin(input_ids)
        for block in self.transformer.blocks:
            x = block(x, cos, sin)
        x = self.transformer.ln_f(x)
        return self.transformer.ff_out(x)


class LLaDAModelLM(nn.Module):
    """Top-level wrapper so parameter names start with `model.` as in the HF checkpoint."""

    def __init__(self, cfg: LLaDAConfig):
        super().__init__()
        self.config = cfg
        self.model = LLaDAModel(cfg)
        self.reset_parameters()

    def reset_parameters(self):
        std = self.config.init_std
        out_std = std / math.sqrt(2 * self.config.n_layers)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or name.endswith("ln_f.weight"):
                nn.init.ones_(p)
            elif re.search(r"blocks\.\d+\.(attn_out|ff_out)\.weight$", name):
                nn.init.normal_(p, 0.0, out_std)
            else:
                nn.init.normal_(p, 0.0, std)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---- I/O -------------------------------------------------------------------------
    def save_pretrained(self, out_dir: str):
        from safetensors.torch import save_file

        os.makedirs(out_dir, exist_ok=True)
        sd = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in self.state_dict().items()}
        save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(out_dir, "config.json"), "w") as f:
            json.dump(self.config.to_hf_dict(), f, indent=2, sort_keys=True)
            f.write("\n")

    @classmethod
    def from_pretrained(cls, model_dir: str) -> "LLaDAModelLM":
        from safetensors.torch import load_file

        cfg = LLaDAConfig.from_json(os.path.join(model_dir, "config.json"))
        m = cls(cfg)
        m.load_state_dict(load_file(os.path.join(model_dir, "model.safetensors")), strict=True)
        m.eval()
        return m


def export_onnx(model: LLaDAModelLM, path: str, opset: int = 17, example_len: int = 24):
    model.eval()
    ex = torch.full((2, example_len), model.config.mask_token_id, dtype=torch.int64)
    ex[:, :4] = 5
    kwargs = dict(
        input_names=["input_ids"],
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
        opset_version=opset,
        do_constant_folding=True,
    )
    try:
        torch.onnx.export(model, (ex,), path, dynamo=False, **kwargs)
    except TypeError:  # older torch without the dynamo kwarg
        torch.onnx.export(model, (ex,), path, **kwargs)


# --------------------------------------------------------------------------------------
# Sampler: ML-GSAI/LLaDA generate.py semantics
# --------------------------------------------------------------------------------------


def add_gumbel_noise(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    if temperature == 0:
        return logits
    logits = logits.to(torch.float64)
    noise = torch.rand_like(logits, dtype=torch.float64)
    gumbel_noise = (-torch.log(noise)) ** temperature
    return logits.exp() / gumbel_noise


def get_num_transfer_tokens(mask_index: torch.Tensor, steps: int) -> torch.Tensor:
    """Linear schedule: tokens unmasked per step, remainder spread over the first steps."""
    mask_num = mask_index.sum(dim=1, keepdim=True)
    base = mask_num // steps
    remainder = mask_num % steps
    num_transfer_tokens = torch.zeros(mask_num.size(0), steps, dtype=torch.int64) + base
    for i in range(mask_num.size(0)):
        num_transfer_tokens[i, : remainder[i]] += 1
    return num_transfer_tokens


@torch.no_grad()
def generate(
    model,
    prompt: torch.Tensor,
    steps: int = 128,
    gen_length: int = 128,
    block_length: int = 128,
    temperature: float = 0.0,
    remasking: str = "low_confidence",
    mask_id: int = 2,
) -> torch.Tensor:
    """prompt: [B, P] int64 (all rows the same length, no padding). Returns [B, P+gen_length]."""
    B, P = prompt.shape
    x = torch.full((B, P + gen_length), mask_id, dtype=torch.long, device=prompt.device)
    x[:, :P] = prompt.clone()
    assert gen_length % block_length == 0
    num_blocks = gen_length // block_length
    assert steps % num_blocks == 0
    steps = steps // num_blocks
    for num_block in range(num_blocks):
        b0 = P + num_block * block_length
        b1 = P + (num_block + 1) * block_length
        block_mask_index = x[:, b0:b1] == mask_id
        num_transfer_tokens = get_num_transfer_tokens(block_mask_index, steps)
        for i in range(steps):
            mask_index = x == mask_id
            logits = model(x)
            logits_with_noise = add_gumbel_noise(logits, temperature=temperature)
            x0 = torch.argmax(logits_with_noise, dim=-1)
            if remasking == "low_confidence":
                p = F.softmax(logits.to(torch.float64), dim=-1)
                x0_p = torch.squeeze(torch.gather(p, dim=-1, index=torch.unsqueeze(x0, -1)), -1)
            elif remasking == "random":
                x0_p = torch.rand((x0.shape[0], x0.shape[1]), device=x0.device)
            else:
                raise NotImplementedError(remasking)
            x0_p[:, b1:] = -np.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, torch.tensor(-np.inf, dtype=x0_p.dtype))
            transfer_index = torch.zeros_like(x0, dtype=torch.bool)
            for j in range(confidence.shape[0]):
                _, select_index = torch.topk(confidence[j], k=int(num_transfer_tokens[j, i]))
                transfer_index[j, select_index] = True
            x[transfer_index] = x0[transfer_index]
    return x


# --------------------------------------------------------------------------------------
# Character-level tokenizer
# --------------------------------------------------------------------------------------

PAD, EOS, MASK, SEP, UNK = "<|pad|>", "<|eos|>", "<|mask|>", "<|sep|>", "<|unk|>"
SPECIAL_TOKENS = [PAD, EOS, MASK, SEP, UNK]  # ids 0..4
CHARS = list("0123456789abcdefghijklmnopqrstuvwxyz") + list(" ,:+-=")


def char_vocab() -> dict:
    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for c in CHARS:
        vocab[c] = len(vocab)
    return vocab


def build_tokenizer():
    """WordLevel over single characters; special tokens matched before splitting."""
    from tokenizers import Tokenizer, Regex, decoders, models, pre_tokenizers
    from tokenizers import AddedToken

    tok = Tokenizer(models.WordLevel(vocab=char_vocab(), unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    return tok
