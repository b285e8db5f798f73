// Transformer pieces (see transformer.h): the timm layouts of Attention, Mlp and Block built
// from Linear, LayerNorm, GELU and the fused scaled_dot_product_attention op.
#include "engine/nn/transformer.h"

#include <sstream>

#include "engine/ops/attention.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/view.h"

namespace qbh::nn {

// ---- MultiheadAttention

MultiheadAttention::MultiheadAttention(int64_t dim, int64_t heads, Generator& gen, bool qkv_bias)
    : dim(dim), heads(heads), head_dim(heads > 0 ? dim / heads : 0) {
    QBH_CHECK(
        dim > 0 && heads > 0 && dim % heads == 0,
        "MultiheadAttention: dim " << dim << " must be positive and divisible by heads " << heads);
    qkv = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, gen, qkv_bias));
    proj = register_module("proj", std::make_shared<Linear>(dim, dim, gen));
}

std::string MultiheadAttention::extra_repr() const {
    std::ostringstream os;
    os << "dim=" << dim << ", heads=" << heads;
    return os.str();
}

Tensor MultiheadAttention::forward(const Tensor& x, const Tensor& mask) {
    QBH_CHECK(x.defined() && x.dim() == 3 && x.size(2) == dim,
              "MultiheadAttention: input " << (x.defined() ? describe(x) : "undefined")
                                           << " must be [B, L, dim] with dim = " << dim);
    const int64_t batch = x.size(0), length = x.size(1);
    // [B, L, 3 dim] -> [B, L, 3, heads, hd] -> [3, B, heads, L, hd], as timm.
    Tensor qkv_out =
        qkv->forward(x).reshape({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
    Tensor attended = scaled_dot_product_attention(qkv_out.select(0, 0), qkv_out.select(0, 1),
                                                   qkv_out.select(0, 2), mask);
    return proj->forward(attended.transpose(1, 2).reshape({batch, length, dim}));
}

// ---- MLP

MLP::MLP(int64_t in_features, int64_t hidden_features, Generator& gen, int64_t out_features) {
    QBH_CHECK(out_features >= 0,
              "MLP: out_features must be >= 0 (0 = in_features), got " << out_features);
    if (out_features == 0) out_features = in_features;
    fc1 = register_module("fc1", std::make_shared<Linear>(in_features, hidden_features, gen));
    act = register_module("act", std::make_shared<GELU>());
    fc2 = register_module("fc2", std::make_shared<Linear>(hidden_features, out_features, gen));
}

Tensor MLP::forward(const Tensor& x) {
    return fc2->forward(act->forward(fc1->forward(x)));
}

// ---- TransformerBlock

TransformerBlock::TransformerBlock(int64_t dim, int64_t heads, Generator& gen, double mlp_ratio,
                                   bool qkv_bias, double norm_eps) {
    QBH_CHECK(
        dim > 0 && heads > 0 && dim % heads == 0,
        "TransformerBlock: dim " << dim << " must be positive and divisible by heads " << heads);
    const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio);
    QBH_CHECK(mlp_ratio > 0 && hidden > 0,
              "TransformerBlock: mlp_ratio " << mlp_ratio << " gives an empty MLP for dim " << dim);
    norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim, norm_eps));
    attn = register_module("attn", std::make_shared<MultiheadAttention>(dim, heads, gen, qkv_bias));
    norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim, norm_eps));
    mlp = register_module("mlp", std::make_shared<MLP>(dim, hidden, gen));
}

Tensor TransformerBlock::forward(const Tensor& x, const Tensor& mask) {
    Tensor h = x + attn->forward(norm1->forward(x), mask);
    return h + mlp->forward(norm2->forward(h));
}

}  // namespace qbh::nn
