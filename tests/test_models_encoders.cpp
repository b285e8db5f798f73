// models: config validation messages, MAE's sin-cos position table, the ViT encoder (shapes,
// windows, MAE init, a hand-composed reference, f64 gradcheck) and the CNN encoder (shapes,
// counts, BatchNorm modes), both with gradients reaching every parameter.
#include <cmath>
#include <set>

#include "models/encoders.h"
#include "models/pos_embed.h"
#include "tests/test_util.h"

using namespace qbh;
using namespace qbh::models;
using Catch::Matchers::Contains;

namespace {

EncoderConfig tiny_vit() {
    EncoderConfig c;
    c.image_size = 16;
    c.patch_size = 4;
    c.width = 16;
    c.depth = 2;
    c.heads = 2;
    return c;
}

EncoderConfig tiny_cnn() {
    EncoderConfig c = tiny_vit();
    c.kind = "cnn";
    c.depth = 3;
    return c;
}

// Backward of sum(out * w) with random w (a plain sum would give LayerNorm's weight a zero
// gradient), then every parameter must hold a finite, not-all-zero gradient.
void check_gradient_reaches_all(nn::Module& model, const Tensor& out) {
    sum(out * test::randn(out.shape(), 77, out.dtype())).backward();
    for (auto& [name, p] : model.named_parameters()) {
        INFO(name);
        REQUIRE(p.grad().defined());
        bool nonzero = false, finite = true;
        for (double v : p.grad().to_vector()) {
            nonzero = nonzero || v != 0.0;
            finite = finite && std::isfinite(v);
        }
        CHECK(nonzero);
        CHECK(finite);
    }
}

std::set<std::string> keys(const nn::Module& m) {
    std::set<std::string> out;
    for (auto& [name, t] : m.state_dict()) out.insert(name);
    return out;
}

double max_abs(const Tensor& t) {
    double m = 0;
    for (double v : t.to_vector()) m = std::max(m, std::abs(v));
    return m;
}

}  // namespace

TEST_CASE("models: encoder config grid and validation messages", "[models][encoders]") {
    EncoderConfig c;
    CHECK(grid_size(c) == 8);
    CHECK_NOTHROW(validate(c));
    c.patch_size = 2;
    CHECK(grid_size(c) == 16);

    auto fails = [](EncoderConfig e, const std::string& text) {
        REQUIRE_THROWS_WITH(validate(e), Contains(text));
    };
    EncoderConfig e;
    e.patch_size = 3;
    fails(e, "model.patch_size: 32 / 3 is not a whole number of patches");
    e = {};
    e.image_size = 28;
    fails(e, "model.patch_size: the grid (7x7) must be even so a quarter is h/2 x w/2 cells");
    e = {};
    e.heads = 5;
    fails(e, "model.heads: width 192 is not divisible by 5 heads");
    e = {};
    e.kind = "resnet";
    fails(e, "model.encoder: unknown encoder 'resnet'");
    for (auto [field, key] : std::vector<std::pair<int EncoderConfig::*, std::string>>{
             {&EncoderConfig::image_size, "model.image_size"},
             {&EncoderConfig::in_channels, "model.in_channels"},
             {&EncoderConfig::patch_size, "model.patch_size"},
             {&EncoderConfig::width, "model.width"},
             {&EncoderConfig::depth, "model.depth"},
             {&EncoderConfig::heads, "model.heads"}}) {
        e = {};
        e.*field = 0;
        fails(e, key + ": must be positive, got 0");
    }
    e = {};
    e.mlp_ratio = 0.0;
    fails(e, "model.mlp_ratio: 0 gives an empty MLP for width 192");
    e = {};
    e.patch_size = 0;
    REQUIRE_THROWS_WITH(grid_size(e), Contains("model.patch_size: must be positive"));

    // CNN: heads do not matter; the stride must be a power of two dividing the width.
    e = {};
    e.kind = "cnn";
    e.heads = 5;
    CHECK_NOTHROW(validate(e));
    e.image_size = 24;
    e.patch_size = 6;
    fails(e, "model.patch_size: 6 must be a power of two for the cnn encoder");
    e = {};
    e.kind = "cnn";
    e.width = 194;
    fails(e, "model.width: 194 must be divisible by patch_size 4 for the cnn encoder");
    e = {};
    e.kind = "cnn";
    e.depth = 1;
    fails(e, "model.depth: 1 residual blocks cannot fill the 2 stages of a cnn with patch_size 4");
}

TEST_CASE("models: decoder and heat config validation messages", "[models][encoders]") {
    CHECK_NOTHROW(validate(DecoderConfig{}));
    CHECK_NOTHROW(validate(HeatConfig{}));
    DecoderConfig d;
    d.heads = 3;
    REQUIRE_THROWS_WITH(validate(d), Contains("decoder.heads: width 128 is not divisible by 3"));
    d = {};
    d.width = -1;
    REQUIRE_THROWS_WITH(validate(d), Contains("decoder.width: must be positive, got -1"));
    d = {};
    d.depth = 0;
    REQUIRE_THROWS_WITH(validate(d), Contains("decoder.depth: must be positive"));
    d = {};
    d.heads = 0;
    REQUIRE_THROWS_WITH(validate(d), Contains("decoder.heads: must be positive"));
    d = {};
    d.mlp_ratio = -1;
    REQUIRE_THROWS_WITH(validate(d), Contains("decoder.mlp_ratio: -1 gives an empty MLP"));
    HeatConfig h;
    h.mode = "euler";
    REQUIRE_THROWS_WITH(validate(h), Contains("heat.mode: unknown mode 'euler'"));
    h = {};
    h.corner = "middle";
    REQUIRE_THROWS_WITH(validate(h), Contains("heat.corner: unknown corner 'middle'"));
    for (const char* corner : {"tl", "tr", "bl", "br", "random"}) {
        h.corner = corner;
        CHECK_NOTHROW(validate(h));
    }
}

TEST_CASE("models: sin-cos position embedding matches MAE's numpy code", "[models][encoders]") {
    // MAE util/pos_embed.py generalised to a grid_h x grid_w grid (numpy 1.26):
    //   def g1(D, pos):
    //       omega = np.arange(D // 2, dtype=np.float64); omega /= D / 2.; omega = 1. / 10000**omega
    //       out = np.einsum('m,d->md', pos.reshape(-1), omega)
    //       return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    //   def g2(D, h, w):
    //       gh = np.arange(h, dtype=np.float32); gw = np.arange(w, dtype=np.float32)
    //       grid = np.stack(np.meshgrid(gw, gh), axis=0).reshape([2, 1, h, w])
    //       return np.concatenate([g1(D // 2, grid[0]), g1(D // 2, grid[1])], axis=1)
    //   g2(8, 2, 3).reshape(-1)
    const double s1 = 0.8414709848078965, s2 = 0.00999983333416666, c1 = 0.5403023058681398,
                 c2 = 0.9999500004166653, t1 = 0.9092974268256817, t2 = 0.01999866669333308,
                 u1 = -0.4161468365471424, u2 = 0.9998000066665778;
    const std::vector<double> expected = {
        0, 0, 1, 1, 0,  0,  1,  1,  s1, s2, c1, c2, 0,  0,  1,  1,  t1, t2, u1, u2, 0,  0,  1,  1,
        0, 0, 1, 1, s1, s2, c1, c2, s1, s2, c1, c2, s1, s2, c1, c2, t1, t2, u1, u2, s1, s2, c1, c2};
    Tensor table = sincos_pos_embed_2d(2, 3, 8, DType::f64);
    REQUIRE(table.shape() == Shape{6, 8});
    QBH_CHECK_CLOSE(table, Tensor::from_vector(expected, {6, 8}, DType::f64), 1e-15, 0);
    CHECK(sincos_pos_embed_2d(2, 3, 8).dtype() == DType::f32);

    // The transposed grid swaps the two halves: column j / row i of 3x2 = row j / column i of 2x3.
    std::vector<double> a = sincos_pos_embed_2d(3, 2, 8, DType::f64).to_vector(),
                        b = table.to_vector();
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 2; ++j)
            for (int k = 0; k < 4; ++k) {
                CHECK(a[(i * 2 + j) * 8 + k] == b[(j * 3 + i) * 8 + 4 + k]);
                CHECK(a[(i * 2 + j) * 8 + 4 + k] == b[(j * 3 + i) * 8 + k]);
            }

    REQUIRE_THROWS_WITH(sincos_pos_embed_2d(2, 2, 6),
                        Contains("dim 6 must be a positive multiple"));
    REQUIRE_THROWS_WITH(sincos_pos_embed_2d(0, 2, 8), Contains("grid 0x2 must be non-empty"));
}

TEST_CASE("models: ViT encoder shapes, windows and names", "[models][encoders]") {
    Generator gen(1);
    VitEncoder vit(tiny_vit(), gen);
    CHECK(vit.width() == 16);
    CHECK(vit.patch_size() == 4);
    Tensor images = test::randn({2, 1, 16, 16}, 2, DType::f32);
    CHECK(vit.forward(images).shape() == Shape{2, 4, 4, 16});

    // The quarter at each corner: the same shape, and its embedding equals the matching window
    // of the full image's embedding (patches are local, positions come from the full grid).
    Tensor full_embed = vit.embed(images, 0, 0);
    for (int64_t r0 : {0, 2})
        for (int64_t c0 : {0, 2}) {
            Tensor quarter = images.slice(2, r0 * 4, r0 * 4 + 8).slice(3, c0 * 4, c0 * 4 + 8);
            CHECK(vit.forward(quarter, r0, c0).shape() == Shape{2, 2, 2, 16});
            QBH_CHECK_CLOSE(vit.embed(quarter, r0, c0),
                            full_embed.slice(1, r0, r0 + 2).slice(2, c0, c0 + 2), 1e-6, 1e-6);
        }
    // A different window gives different positions (the test can fail).
    Tensor quarter = images.slice(2, 0, 8).slice(3, 0, 8);
    CHECK(test::compare(vit.embed(quarter, 2, 2), full_embed.slice(1, 0, 2).slice(2, 0, 2), 1e-3, 0)
              .ok == false);

    std::set<std::string> k = keys(vit);
    for (const char* name :
         {"patch_embed.proj.weight", "patch_embed.proj.bias", "blocks.0.attn.qkv.weight",
          "blocks.1.mlp.fc2.bias", "norm.weight", "norm.bias", "blocks.0.norm1.weight"})
        CHECK(k.count(name) == 1);
    CHECK(k.size() == 2 + 2 * 12 + 2);  // no pos_embed in the state dict

    // Parameter count: patch conv + depth * block + final norm, block = 2 LN + qkv + proj + MLP.
    const int64_t d = 16, hid = 64, patch = 1 * 4 * 4;
    const int64_t block =
        2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (d * hid + hid) + (hid * d + d);
    CHECK(vit.num_parameters() == (d * patch + d) + 2 * block + 2 * d);
    // The default Fashion-MNIST preset: ViT width 192, 6 blocks.
    Generator g2(3);
    VitEncoder preset(EncoderConfig{}, g2);
    const int64_t D = 192, H = 768;
    const int64_t pblock = 4 * D + (3 * D * D + 3 * D) + (D * D + D) + (D * H + H) + (H * D + D);
    CHECK(preset.num_parameters() == (D * 16 + D) + 6 * pblock + 2 * D);
}

TEST_CASE("models: ViT encoder initialisation follows MAE", "[models][encoders]") {
    Generator gen(4);
    VitEncoder vit(tiny_vit(), gen);
    // Patch weight: xavier on [16, 1*4*4], bound sqrt(6 / (16 + 16)); Conv2d's own fans
    // (fan_out 16*16) would bound it by sqrt(6 / 272) = 0.149.
    const double patch_bound = std::sqrt(6.0 / 32.0);
    CHECK(max_abs(vit.proj->weight) <= patch_bound);
    CHECK(max_abs(vit.proj->weight) > std::sqrt(6.0 / 272.0));
    for (auto& block : vit.blocks) {
        // Linear default bound is 1/sqrt(16) = 0.25; xavier for qkv [48, 16] is sqrt(6/64).
        CHECK(max_abs(block->attn->qkv->weight) <= std::sqrt(6.0 / 64.0));
        CHECK(max_abs(block->attn->qkv->weight) > 0.25);
        CHECK(max_abs(block->mlp->fc2->weight) <= std::sqrt(6.0 / 80.0));
        for (const Tensor& b : {block->attn->qkv->bias, block->attn->proj->bias,
                                block->mlp->fc1->bias, block->mlp->fc2->bias, block->norm1->bias})
            CHECK(max_abs(b) == 0.0);
        CHECK(block->norm1->eps == 1e-6);
    }
    for (double v : vit.norm->weight.to_vector()) CHECK(v == 1.0);
    CHECK(vit.norm->eps == 1e-6);
}

TEST_CASE("models: ViT encoder forward matches a hand-composed reference", "[models][encoders]") {
    Generator gen(5);
    EncoderConfig c = tiny_vit();
    c.in_channels = 3;
    VitEncoder vit(c, gen);
    Tensor images = test::randn({2, 3, 8, 12}, 6, DType::f32);  // a 2x3 window of the 4x4 grid
    Conv2dOptions opt;
    opt.stride = {4, 4};
    Tensor x = conv2d(images, vit.proj->weight, vit.proj->bias, opt).permute({0, 2, 3, 1});
    Tensor table = sincos_pos_embed_2d(4, 4, 16).reshape({4, 4, 16});
    x = (x + table.slice(0, 2, 4).slice(1, 1, 4)).reshape({2, 6, 16});
    for (auto& block : vit.blocks) x = block->forward(x);
    x = vit.norm->forward(x).reshape({2, 2, 3, 16});
    QBH_CHECK_CLOSE(vit.forward(images, 2, 1), x, 1e-5, 1e-5);
}

TEST_CASE("models: ViT encoder gradients (reach and f64 finite differences)",
          "[models][encoders]") {
    Generator gen(7);
    VitEncoder vit(tiny_vit(), gen);
    Tensor images = test::randn({2, 1, 8, 8}, 8, DType::f32);
    check_gradient_reaches_all(vit, vit.forward(images, 2, 0));

    // A tiny encoder in f64: images and every parameter checked at once.
    EncoderConfig t;
    t.image_size = 4;
    t.in_channels = 2;
    t.patch_size = 2;
    t.width = 4;
    t.depth = 1;
    t.heads = 2;
    t.mlp_ratio = 2.0;
    Generator g2(9);
    VitEncoder small(t, g2);
    small.to(DType::f64);
    Tensor x = test::randn({1, 2, 4, 4}, 10);
    x.set_requires_grad();
    std::vector<Tensor> inputs = {x};
    for (auto& [name, p] : small.named_parameters()) inputs.push_back(p);
    QBH_GRADCHECK([&](const std::vector<Tensor>& in) { return small.forward(in[0]); }, inputs);
    Tensor window = test::randn({1, 2, 2, 4}, 11);
    window.set_requires_grad();
    inputs[0] = window;
    QBH_GRADCHECK([&](const std::vector<Tensor>& in) { return small.forward(in[0], 1, 0); },
                  inputs);
}

TEST_CASE("models: ViT encoder error paths", "[models][encoders]") {
    Generator gen(12);
    VitEncoder vit(tiny_vit(), gen);
    REQUIRE_THROWS_WITH(vit.forward(Tensor()), Contains("images undefined must be [N, 1, H, W]"));
    REQUIRE_THROWS_WITH(vit.forward(Tensor::zeros({1, 2, 16, 16})),
                        Contains("must be [N, 1, H, W]"));
    REQUIRE_THROWS_WITH(vit.forward(Tensor::zeros({1, 16, 16})), Contains("must be [N, 1, H, W]"));
    REQUIRE_THROWS_WITH(vit.forward(Tensor::zeros({1, 1, 10, 16})),
                        Contains("image size 10x16 is not a multiple of the patch size 4"));
    REQUIRE_THROWS_WITH(vit.forward(Tensor::zeros({1, 1, 8, 8}), 3, 0),
                        Contains("a 2x2 token window at (3, 0) does not fit the 4x4 grid"));
    REQUIRE_THROWS_WITH(vit.forward(Tensor::zeros({1, 1, 8, 8}), 0, -1),
                        Contains("does not fit the 4x4 grid"));
    REQUIRE_THROWS_WITH(vit.forward(Tensor::zeros({1, 1, 20, 20})),
                        Contains("a 5x5 token window at (0, 0) does not fit"));
    REQUIRE_THROWS_WITH(vit.forward_tokens(Tensor::zeros({1, 4, 8})),
                        Contains("must be [N, L, 16]"));
    EncoderConfig bad = tiny_vit();
    bad.heads = 3;
    REQUIRE_THROWS_WITH(VitEncoder(bad, gen), Contains("model.heads: width 16"));
}

TEST_CASE("models: CNN encoder shapes, parameters and names", "[models][encoders]") {
    Generator gen(13);
    CnnEncoder cnn(tiny_cnn(), gen);
    CHECK(cnn.width() == 16);
    CHECK(cnn.patch_size() == 4);
    Tensor images = test::randn({2, 1, 16, 16}, 14, DType::f32);
    CHECK(cnn.forward(images).shape() == Shape{2, 4, 4, 16});
    CHECK(cnn.forward(images.slice(2, 8, 16).slice(3, 0, 8)).shape() == Shape{2, 2, 2, 16});
    CHECK(cnn.forward(test::randn({1, 1, 8, 12}, 15, DType::f32)).shape() == Shape{1, 2, 3, 16});

    // Stem 16/4 = 4 wide; layer1: one block 4 -> 8 (stride 2); layer2: 8 -> 16 (stride 2) and
    // 16 -> 16 (3 blocks over 2 stages, the remainder on the last). Convs have no bias.
    REQUIRE(cnn.layers.size() == 2);
    CHECK(cnn.layers[0]->size() == 1);
    CHECK(cnn.layers[1]->size() == 2);
    auto bn = [](int64_t c) { return 2 * c; };
    auto block = [&](int64_t in, int64_t out) {
        int64_t n = in * out * 9 + bn(out) + out * out * 9 + bn(out);
        if (in != out) n += in * out + bn(out);  // downsample 1x1 conv + bn (stride 2 here)
        return n;
    };
    CHECK(cnn.num_parameters() == 1 * 4 * 9 + bn(4) + block(4, 8) + block(8, 16) + block(16, 16));
    std::set<std::string> k = keys(cnn);
    for (const char* name :
         {"conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv1.weight",
          "layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_var", "layer2.1.bn2.bias"})
        CHECK(k.count(name) == 1);
    CHECK(k.count("layer2.1.downsample.0.weight") == 0);
    CHECK(k.count("conv1.bias") == 0);

    // p = 1: one stride-1 stage at width d.
    EncoderConfig one;
    one.kind = "cnn";
    one.image_size = 4;
    one.patch_size = 1;
    one.width = 4;
    one.depth = 1;
    Generator g2(16);
    CnnEncoder flat(one, g2);
    CHECK(flat.forward(test::randn({1, 1, 4, 4}, 17, DType::f32)).shape() == Shape{1, 4, 4, 4});
    CHECK(flat.num_parameters() == 36 + 8 + 2 * (4 * 4 * 9 + 8));
}

TEST_CASE("models: CNN encoder BatchNorm modes and gradients", "[models][encoders]") {
    Generator gen(18);
    CnnEncoder cnn(tiny_cnn(), gen);
    Tensor a = test::randn({2, 1, 8, 8}, 19, DType::f32);
    Tensor b = test::randn({2, 1, 8, 8}, 20, DType::f32);
    Tensor ab = cat({a, b}, 0);
    // Train mode (the default) normalises by batch statistics: a's output depends on b.
    REQUIRE(cnn.is_training());
    Tensor alone = cnn.forward(a), together = cnn.forward(ab).slice(0, 0, 2);
    CHECK(test::compare(alone, together, 1e-4, 1e-4).ok == false);
    CHECK(cnn.bn1->num_batches_tracked.item() == 2);
    // Eval uses the running statistics: samples no longer interact.
    cnn.eval();
    QBH_CHECK_CLOSE(cnn.forward(ab).slice(0, 0, 2), cnn.forward(a), 1e-5, 1e-5);
    CHECK(cnn.bn1->num_batches_tracked.item() == 2);
    cnn.train();
    check_gradient_reaches_all(cnn, cnn.forward(ab));
}

TEST_CASE("models: CNN encoder error paths and make_encoder", "[models][encoders]") {
    Generator gen(21);
    CnnEncoder cnn(tiny_cnn(), gen);
    REQUIRE_THROWS_WITH(cnn.forward(Tensor::zeros({1, 3, 16, 16})),
                        Contains("CnnEncoder: images f32[1, 3, 16, 16] cpu must be [N, 1, H, W]"));
    REQUIRE_THROWS_WITH(cnn.forward(Tensor::zeros({1, 1, 16, 6})),
                        Contains("image size 16x6 is not a multiple of the stride 4"));
    REQUIRE_THROWS_WITH(cnn.forward(Tensor()), Contains("images undefined"));
    EncoderConfig bad = tiny_cnn();
    bad.patch_size = 8;
    bad.image_size = 32;
    bad.width = 12;
    REQUIRE_THROWS_WITH(CnnEncoder(bad, gen), Contains("model.width: 12 must be divisible"));

    auto vit = make_encoder(tiny_vit(), gen);
    CHECK(vit->type_name() == "VitEncoder");
    CHECK(dynamic_cast<VitEncoder*>(vit.get()) != nullptr);
    auto cnn2 = make_encoder(tiny_cnn(), gen);
    CHECK(cnn2->type_name() == "CnnEncoder");
    CHECK(cnn2->forward(Tensor::zeros({1, 1, 8, 8})).shape() == Shape{1, 2, 2, 16});
    EncoderConfig unknown = tiny_vit();
    unknown.kind = "mlp";
    REQUIRE_THROWS_WITH(make_encoder(unknown, gen), Contains("model.encoder: unknown encoder"));
}
