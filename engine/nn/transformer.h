// Transformer pieces as timm's ViT names them, so state_dicts map 1:1: MultiheadAttention
// (timm Attention: qkv, proj), MLP (timm Mlp: fc1, act, fc2) and TransformerBlock (timm Block,
// pre-norm: norm1, attn, norm2, mlp). Used by the ViT encoder, the decoder and the probe head.
#pragma once

#include <memory>
#include <string>

#include "engine/core/rng.h"
#include "engine/nn/layers.h"
#include "engine/nn/module.h"

namespace qbh::nn {

// Self-attention over x [B, L, dim]: qkv = Linear(dim, 3 dim) viewed as [B, L, 3, heads, hd]
// and permuted to q, k, v [B, heads, L, hd]; scaled_dot_product_attention; back to
// [B, L, dim]; proj = Linear(dim, dim). mask: undefined or broadcastable to
// [B, heads, L, L], 0 = may not attend (see ops/attention.h).
class MultiheadAttention : public Module {
  public:
    MultiheadAttention(int64_t dim, int64_t heads, Generator& gen, bool qkv_bias = true);
    std::string type_name() const override { return "MultiheadAttention"; }
    std::string extra_repr() const override;
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    Tensor forward(const Tensor& x, const Tensor& mask);

    int64_t dim, heads, head_dim;
    std::shared_ptr<Linear> qkv, proj;
};

// fc1 = Linear(in, hidden), exact GELU, fc2 = Linear(hidden, out); out = 0 means out = in.
class MLP : public Module {
  public:
    MLP(int64_t in_features, int64_t hidden_features, Generator& gen, int64_t out_features = 0);
    std::string type_name() const override { return "MLP"; }
    Tensor forward(const Tensor& x) override;

    std::shared_ptr<Linear> fc1;
    std::shared_ptr<GELU> act;
    std::shared_ptr<Linear> fc2;
};

// Pre-norm block: x = x + attn(norm1(x)); x = x + mlp(norm2(x)). Hidden width of the MLP is
// int(dim * mlp_ratio); LayerNorm eps defaults to timm ViT's 1e-6.
class TransformerBlock : public Module {
  public:
    TransformerBlock(int64_t dim, int64_t heads, Generator& gen, double mlp_ratio = 4.0,
                     bool qkv_bias = true, double norm_eps = 1e-6);
    std::string type_name() const override { return "TransformerBlock"; }
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    Tensor forward(const Tensor& x, const Tensor& mask);

    std::shared_ptr<LayerNorm> norm1;
    std::shared_ptr<MultiheadAttention> attn;
    std::shared_ptr<LayerNorm> norm2;
    std::shared_ptr<MLP> mlp;
};

}  // namespace qbh::nn
