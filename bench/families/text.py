"""Text model family for issue 18 (the families convention: models() maps a name to a builder; a builder returns
(model in eval mode, example inputs, tolerances) for size "small" (committed fixtures) or "full" (the bench's
largest-model speed check), with the batch size of its inputs as a second argument).

RoBERTa and XLM-R are torchtext 0.14's RobertaModel (one class; XLM-R differs in its configuration), whose encoder
layers are nn.TransformerEncoderLayer: in eval mode with padded token ids PyTorch takes its BetterTransformer path (the
padding mask as a nested tensor, fused encoder layers). Debian 12's python3-torchtext does not import (its C++
extension does not match the Python) and Debian 13 has no torchtext, but the model files are plain PyTorch:
torchtext/models/roberta/{modules,model}.py are loaded from their folder, $TORCHTEXT_ROBERTA or Debian 12's
/usr/lib/python3/dist-packages/torchtext/models/roberta (for the PyTorch 2.6 chroot, copy those two files into it and
point $TORCHTEXT_ROBERTA there).

The Llama-style decoder is written here: RMSNorm, rotary embeddings, grouped-query causal attention (repeat_interleave
to the query heads, F.scaled_dot_product_attention where PyTorch has it, from 2.0; PyTorch 1.13 gets the same
attention written out: matmul, a causal -inf mask, softmax), SwiGLU MLP.
"""


# Its committed fixtures come from this generator, not from fixtures/families/generate.py.
FIXTURE_GENERATOR = "fixtures/families/generate_batched.py"
import importlib
import math
import os
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = {"atol": 1e-4, "rtol": 1e-3}
ROBERTA_DIR = os.environ.get("TORCHTEXT_ROBERTA", "/usr/lib/python3/dist-packages/torchtext/models/roberta")
PADDING_ID = 1  # torchtext's RoBERTa and XLM-R vocabularies pad with 1


def _torchtext_roberta():
    """torchtext's roberta package loaded from its files, under a name that does not shadow an installed torchtext."""
    name = "torchtext_roberta_files"
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [ROBERTA_DIR]
        sys.modules[name] = package
    return importlib.import_module(f"{name}.model")


def padded_ids(batch, length, vocab, padding_id=PADDING_ID):
    """Token ids in [padding_id + 1, vocab); sample b is right-padded to length - (b % 3), so sample 0 spans the
    whole input (the nested-tensor path pads back to the longest sample) and no sample is all padding."""
    ids = torch.randint(padding_id + 1, vocab, (batch, length), generator=torch.Generator().manual_seed(1000 + batch))
    padding = torch.arange(length)[None, :] >= torch.tensor([length - b % 3 for b in range(batch)])[:, None]
    return ids.masked_fill(padding, padding_id)


def _roberta_family(vocab, with_head, normalize_before=False):
    def build(size="small", batch=2):
        roberta = _torchtext_roberta()
        if size == "full":  # roberta/xlmr base
            dim, ffn, heads, layers, length = 768, 3072, 12, 12, 128
        else:
            dim, ffn, heads, layers, length = 16, 32, 2, 2, 8
        config = roberta.RobertaEncoderConf(vocab_size=vocab if size == "full" else 40, embedding_dim=dim,
                                            ffn_dimension=ffn, padding_idx=PADDING_ID, max_seq_len=length + 2,
                                            num_attention_heads=heads, num_encoder_layers=layers, dropout=0.0,
                                            normalize_before=normalize_before)
        head = roberta.RobertaClassificationHead(num_classes=3, input_dim=dim, dropout=0.0) if with_head else None
        model = roberta.RobertaModel(config, head)
        model = model if with_head else _PaddingZeroed(model)
        return model.eval(), (padded_ids(batch, length, config.vocab_size),), TOLERANCE
    return build


class _PaddingZeroed(nn.Module):
    """The encoder's features with the padding positions zeroed: the fast path (nested tensors) returns zeros there,
    the slow path that scripted code takes the features of the padding tokens."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return self.model(tokens) * tokens.ne(PADDING_ID).unsqueeze(-1).to(torch.float32)


# RoBERTa with its classification head (logits), XLM-R's encoder (features per token), and the pre-norm encoder
# (normalize_before), whose fused layers take the padding mask one by one instead of a nested tensor.
roberta_classifier = _roberta_family(50265, with_head=True)
xlmr_encoder = _roberta_family(250002, with_head=False)
roberta_prenorm = _roberta_family(50265, with_head=False, normalize_before=True)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(1 + 0.1 * torch.randn(dim))  # not all ones, so a dropped weight shows

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def causal_attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    seq = q.shape[-2]
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    future = torch.ones(seq, seq, dtype=torch.bool).triu(1)
    return torch.matmul(scores.masked_fill(future, float("-inf")).softmax(-1), v)


class LlamaBlock(nn.Module):
    def __init__(self, dim, heads, kv_heads, hidden):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, dim // heads
        self.attention_norm, self.mlp_norm = RMSNorm(dim), RMSNorm(dim)
        self.q_proj = nn.Linear(dim, heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(heads * self.head_dim, dim, bias=False)
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x, cos, sin):
        batch, seq, dim = x.shape
        h = self.attention_norm(x)
        q = self.q_proj(h).view(batch, seq, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(batch, seq, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(batch, seq, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        attention = causal_attention(q, k, v).transpose(1, 2).reshape(batch, seq, dim)
        x = x + self.o_proj(attention)
        h = self.mlp_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class LlamaDecoder(nn.Module):
    """Token embedding → Llama-style blocks → RMSNorm → LM head (not tied); returns the logits."""

    def __init__(self, vocab, dim, layers, heads, kv_heads, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(LlamaBlock(dim, heads, kv_heads, hidden) for _ in range(layers))
        self.norm = RMSNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        half = dim // heads // 2
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(half).float() / half)), persistent=False)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1]).float()
        angles = positions[:, None] * self.inv_freq[None, :]
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.lm_head(self.norm(x))


def llama_decoder(size="small", batch=2):
    if size == "full":
        vocab, dim, layers, heads, kv_heads, hidden, length = 32000, 512, 8, 8, 4, 1376, 128
    else:
        vocab, dim, layers, heads, kv_heads, hidden, length = 50, 32, 2, 4, 2, 64, 8
    model = LlamaDecoder(vocab, dim, layers, heads, kv_heads, hidden)
    ids = torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(1000 + batch))
    return model.eval(), (ids,), TOLERANCE


def models():
    return {"roberta_classifier": roberta_classifier, "xlmr_encoder": xlmr_encoder, "roberta_prenorm": roberta_prenorm,
            "llama_decoder": llama_decoder}


# The family's largest model for the full-size speed check (bench/families_run.py largest); parameters at size "full": xlmr_encoder 277.2 M (its 250k-token embedding), roberta_classifier 124.4, roberta_prenorm 123.8, llama_decoder 56.0.
LARGEST = {"text": "xlmr_encoder"}
