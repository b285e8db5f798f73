// The whole models: QB-Heat (both encoders, every heat mode and corner), the MAE baseline and its
// interp variant, the probe heads and the classifier: shapes, names, parameter counts, gradients
// to every parameter, masking facts, a tiny overfit, and the error paths.
#include <cmath>
#include <set>

#include "engine/optim/adamw.h"
#include "models/mae_model.h"
#include "models/probe.h"
#include "models/qbheat_model.h"
#include "tests/test_util.h"

using namespace qbh;
using namespace qbh::models;
using Catch::Contains;

namespace {

// 8x8 images, patch 2 -> a 4x4 grid, 2x2 visible tokens.
EncoderConfig tiny_encoder(const std::string& kind = "vit", int channels = 2) {
    EncoderConfig c;
    c.kind = kind;
    c.image_size = 8;
    c.in_channels = channels;
    c.patch_size = 2;
    c.width = 8;
    c.depth = 1;
    c.heads = 2;
    c.mlp_ratio = 2.0;
    return c;
}

DecoderConfig tiny_decoder() {
    DecoderConfig c;
    c.width = 8;
    c.depth = 1;
    c.heads = 2;
    c.mlp_ratio = 2.0;
    return c;
}

HeatConfig heat(const std::string& mode, const std::string& corner = "tl") {
    HeatConfig h;
    h.mode = mode;
    h.corner = corner;
    return h;
}

Tensor images(int64_t n, int64_t c, uint64_t seed, DType dtype = DType::f32) {
    return test::randn({n, c, 8, 8}, seed, dtype);
}

// Every parameter holds a defined, finite, not-all-zero gradient.
void check_every_grad(const nn::Module& m) {
    for (auto& [name, p] : m.named_parameters()) {
        INFO(name);
        REQUIRE(p.grad().defined());
        bool finite = true, nonzero = false;
        for (double v : p.grad().to_vector()) {
            finite = finite && std::isfinite(v);
            nonzero = nonzero || v != 0.0;
        }
        CHECK(finite);
        CHECK(nonzero);
    }
}

bool has_name(const nn::Module& m, const std::string& name) {
    for (auto& [n, p] : m.named_parameters())
        if (n == name) return true;
    return false;
}

// Hand counts for a width-d pre-norm block with MLP hidden h.
int64_t block_params(int64_t d, int64_t h) {
    return 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (d * h + h) + (h * d + d);
}

// A masking that keeps the top-left 2x2 cells of the 4x4 grid for every image.
RandomMasking quarter_masking(int64_t n) {
    std::vector<double> ids;
    const int order[16] = {0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int64_t i = 0; i < n; ++i)
        for (int k : order) ids.push_back(k);
    return masking_from_shuffle(Tensor::from_vector(ids, {n, 16}, DType::i64), 4);
}

}  // namespace

TEST_CASE("models full: QB-Heat shapes, names and parameter count", "[models][full]") {
    Generator gen(1);
    QBHeatModel model(tiny_encoder(), tiny_decoder(), heat("cell"), LossConfig{}, gen);
    CHECK(has_name(model, "encoder.blocks.0.attn.qkv.weight"));
    CHECK(has_name(model, "encoder.patch_embed.proj.weight"));
    CHECK(has_name(model, "heat.A"));
    CHECK(has_name(model, "heat.B"));
    CHECK(has_name(model, "decoder.pred.weight"));
    // encoder: patch conv (2*2*2 -> 8) + block + norm; heat: A, B; decoder: embed, block, norm,
    // pred (8 -> 2*2*2 pixels).
    const int64_t d = 8, h = 16, px = 8;
    const int64_t enc = (px * d + d) + block_params(d, h) + 2 * d;
    const int64_t dec = (d * d + d) + block_params(d, h) + 2 * d + (d * px + px);
    CHECK(model.num_parameters() == enc + 2 * d * d + dec);

    auto out = model.forward(images(3, 2, 11), gen);
    CHECK(out.pred.shape() == Shape{3, 16, px});
    CHECK(out.loss.dim() == 0);
    CHECK(std::isfinite(out.loss.item()));
    CHECK(out.corner == HeatCorner::tl);
    CHECK(model.encode_full(images(3, 2, 12)).shape() == Shape{3, 4, 4, d});

    Generator g2(2);
    QBHeatModel cnn(tiny_encoder("cnn"), tiny_decoder(), heat("block"), LossConfig{}, g2);
    CHECK(has_name(cnn, "encoder.conv1.weight"));
    CHECK(cnn.forward(images(2, 2, 13), g2).pred.shape() == Shape{2, 16, px});
    CHECK(cnn.encode_full(images(2, 2, 14)).shape() == Shape{2, 4, 4, d});
}

TEST_CASE("models full: QB-Heat gradient reaches every parameter (modes, corners, encoders)",
          "[models][full]") {
    for (const char* kind : {"vit", "cnn"})
        for (const char* mode : {"cell", "block", "mask"})
            for (const char* corner : {"tl", "tr", "bl", "br", "random"}) {
                INFO(kind << " " << mode << " " << corner);
                Generator gen(3);
                QBHeatModel model(tiny_encoder(kind), tiny_decoder(), heat(mode, corner),
                                  LossConfig{}, gen);
                auto out = model.forward(images(2, 2, 21), gen);
                out.loss.backward();
                check_every_grad(model);
            }
}

TEST_CASE("models full: QB-Heat at init copies the visible border into the hidden cells",
          "[models][full]") {
    Generator gen(4);
    QBHeatModel model(tiny_encoder(), tiny_decoder(), heat("cell"), LossConfig{}, gen);
    auto* vit = dynamic_cast<VitEncoder*>(model.encoder.get());
    REQUIRE(vit != nullptr);
    Tensor x = images(2, 2, 31);
    NoGradGuard no_grad;
    // Visible quarter in the bottom-right: pixels [4, 8) x [4, 8), token window from (2, 2).
    Tensor z = model.predict_grid(x, HeatCorner::br);
    Tensor v = vit->forward(x.slice(2, 4, 8).slice(3, 4, 8), 2, 2);
    REQUIRE(z.shape() == Shape{2, 4, 4, 8});
    QBH_CHECK_CLOSE(z.slice(1, 2, 4).slice(2, 2, 4), v, 1e-6, 1e-6);
    for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 4; ++j) {
            // A = B = 0: each hidden cell equals the nearest visible cell (clamped position).
            const int64_t vi = std::max<int64_t>(i, 2) - 2, vj = std::max<int64_t>(j, 2) - 2;
            INFO(i << " " << j);
            QBH_CHECK_CLOSE(z.select(1, i).select(1, j), v.select(1, vi).select(1, vj), 1e-6, 1e-6);
        }
    // The crop matters: the top-left corner encodes other pixels.
    Tensor tl = model.predict_grid(x, HeatCorner::tl);
    CHECK_FALSE(test::compare(tl.slice(1, 0, 2).slice(2, 0, 2), v, 1e-3, 0).ok);
    Tensor vtl = vit->forward(x.slice(2, 0, 4).slice(3, 0, 4), 0, 0);
    QBH_CHECK_CLOSE(tl.slice(1, 0, 2).slice(2, 0, 2), vtl, 1e-6, 1e-6);
}

TEST_CASE("models full: QB-Heat loss is the hidden-cell reconstruction loss", "[models][full]") {
    Generator gen(5);
    LossConfig lc;
    QBHeatModel model(tiny_encoder(), tiny_decoder(), heat("cell"), lc, gen);
    Tensor x = images(2, 2, 41);
    NoGradGuard no_grad;
    auto out = model.forward(x, HeatCorner::tr);
    Tensor expect = reconstruction_loss(out.pred, x, 2, hidden_cell_mask(4, HeatCorner::tr), lc);
    CHECK(out.loss.item() == Approx(expect.item()).epsilon(1e-6));
    Tensor all = reconstruction_loss(out.pred, x, 2, Tensor(), lc);
    CHECK(out.loss.item() != Approx(all.item()).epsilon(1e-4));
}

TEST_CASE("models full: random_masking follows MAE", "[models][full]") {
    Generator gen(6);
    auto m = random_masking(4, 16, 0.75, gen);
    REQUIRE(m.ids_keep.shape() == Shape{4, 4});
    REQUIRE(m.mask.shape() == Shape{4, 16});
    const auto shuffle = m.ids_shuffle.to_vector(), restore = m.ids_restore.to_vector(),
               keep = m.ids_keep.to_vector(), mask = m.mask.to_vector();
    std::set<std::set<int>> kept_sets;
    for (int i = 0; i < 4; ++i) {
        double masked = 0;
        for (int j = 0; j < 16; ++j) masked += mask[i * 16 + j];
        CHECK(masked == 12);  // exactly L * 0.75
        for (int j = 0; j < 16; ++j)
            CHECK(restore[i * 16 + int(shuffle[i * 16 + j])] == j);  // inverse permutation
        std::set<int> kept;
        for (int j = 0; j < 4; ++j) {
            kept.insert(int(keep[i * 4 + j]));
            CHECK(mask[i * 16 + int(keep[i * 4 + j])] == 0.0);
        }
        kept_sets.insert(kept);
    }
    CHECK(kept_sets.size() == 4);  // each image its own mask
    Generator a(9), b(9);
    auto ma = random_masking(2, 16, 0.75, a), mb = random_masking(2, 16, 0.75, b);
    CHECK(ma.ids_shuffle.to_vector() == mb.ids_shuffle.to_vector());
    // The kept tokens are those with the smallest noise: the same draw, sorted by hand.
    Generator c(9);
    auto noise = rand({2, 16}, c).to_vector();
    for (int i = 0; i < 2; ++i) {
        double max_kept = -1, min_masked = 2;
        for (int j = 0; j < 16; ++j) {
            const double v = noise[i * 16 + j];
            if (ma.mask.to_vector()[i * 16 + j] == 0.0)
                max_kept = std::max(max_kept, v);
            else
                min_masked = std::min(min_masked, v);
        }
        CHECK(max_kept < min_masked);
    }
}

TEST_CASE("models full: MAE shapes, names, gradients, and the encoder sees kept cells only",
          "[models][full]") {
    Generator gen(7);
    MaeModel model(tiny_encoder(), tiny_decoder(), LossConfig{}, MaskingConfig{}, gen);
    CHECK(has_name(model, "encoder.blocks.0.attn.qkv.weight"));
    CHECK(has_name(model, "decoder.pred.weight"));
    CHECK(has_name(model, "mask_token"));
    CHECK(model.mask_token.shape() == Shape{8});
    Tensor x = images(3, 2, 51);
    auto out = model.forward(x, gen);
    CHECK(out.pred.shape() == Shape{3, 16, 8});
    CHECK(std::isfinite(out.loss.item()));
    out.loss.backward();
    check_every_grad(model);
    CHECK(model.encode_full(x).shape() == Shape{3, 4, 4, 8});

    // Masked pixels cannot reach pred; a kept cell's pixels can. Cell 15 (pixels [6,8)x[6,8))
    // is masked and cell 0 kept by quarter_masking.
    NoGradGuard no_grad;
    auto m = quarter_masking(3);
    Tensor base = model.forward(x, m).pred;
    Tensor x2 = clone(x);
    Tensor masked_cell = x2.slice(2, 6, 8).slice(3, 6, 8);
    fill_(masked_cell, 5.0);
    QBH_CHECK_CLOSE(model.forward(x2, m).pred, base, 0, 0);
    Tensor x3 = clone(x);
    Tensor kept_cell = x3.slice(2, 0, 2).slice(3, 0, 2);
    fill_(kept_cell, 5.0);
    CHECK_FALSE(test::compare(model.forward(x3, m).pred, base, 1e-4, 0).ok);
}

TEST_CASE("models full: interp weights fill masked cells from row, column, or the token",
          "[models][full]") {
    // Visible: (0,0), (0,3), (1,2) of a 4x4 grid.
    std::vector<double> mask(16, 1.0);
    mask[0] = mask[3] = mask[6] = 0.0;
    auto iw = interp_weights(Tensor::from_vector(mask, {1, 16}), 4);
    REQUIRE(iw.weights.shape() == Shape{1, 16, 16});
    const auto w = iw.weights.to_vector(), fb = iw.fallback.to_vector();
    auto at = [&](int cell, int src) { return w[cell * 16 + src]; };
    CHECK(at(0, 0) == 1.0);
    CHECK(at(6, 6) == 1.0);
    CHECK(at(1, 0) == Approx(2.0 / 3));  // row 0: between columns 0 and 3
    CHECK(at(1, 3) == Approx(1.0 / 3));
    CHECK(at(2, 0) == Approx(1.0 / 3));
    CHECK(at(2, 3) == Approx(2.0 / 3));
    CHECK(at(4, 6) == 1.0);  // row 1: one side only, copy the nearest
    CHECK(at(7, 6) == 1.0);
    CHECK(at(8, 0) == 1.0);   // row 2 empty: column 0
    CHECK(at(10, 6) == 1.0);  // column 2
    CHECK(at(15, 3) == 1.0);  // column 3
    for (int cell = 0; cell < 16; ++cell) {
        double s = 0;
        for (int src = 0; src < 16; ++src) s += at(cell, src);
        const bool fallback = cell == 9 || cell == 13;  // column 1 and rows 2, 3 empty
        INFO(cell);
        CHECK(fb[cell] == (fallback ? 1.0 : 0.0));
        CHECK(s == Approx(fallback ? 0.0 : 1.0));
    }
    CHECK_THROWS_WITH(interp_weights(Tensor::zeros({1, 9}), 4), Contains("[N, 16]"));
}

TEST_CASE("models full: MAE interp variant runs and trains every parameter", "[models][full]") {
    Generator gen(8);
    MaskingConfig mc;
    mc.fill = "interp";
    MaeModel model(tiny_encoder(), tiny_decoder(), LossConfig{}, mc, gen);
    // The top-left quarter kept: the bottom-right cells have no visible row or column, so the
    // mask token is used too.
    auto out = model.forward(images(2, 2, 61), quarter_masking(2));
    CHECK(out.pred.shape() == Shape{2, 16, 8});
    out.loss.backward();
    check_every_grad(model);
    Generator g2(9);
    CHECK(std::isfinite(model.forward(images(2, 2, 62), g2).loss.item()));
}

TEST_CASE("models full: probe heads and classifier", "[models][full]") {
    Generator gen(10);
    const int64_t d = 8, k = 5;
    LinearProbe lin(d, k, gen);
    CHECK(lin.named_parameters().size() == 2);  // bn has no affine
    CHECK(has_name(lin, "head.weight"));
    CHECK(lin.num_parameters() == d * k + k);
    Tensor grid = test::randn({4, 2, 2, d}, 71, DType::f32);
    Tensor logits = lin.forward(grid);
    CHECK(logits.shape() == Shape{4, k});
    QBH_CHECK_CLOSE(lin.forward(mean(grid, {1, 2})), logits, 1e-6, 1e-6);
    mean(square(logits)).backward();
    check_every_grad(lin);
    // Eval mode of a fresh probe: running mean 0 and var 1, so bn divides by sqrt(1 + eps).
    {
        Generator g(11);
        LinearProbe fresh(d, k, g);
        fresh.to(DType::f64);
        fresh.eval();
        Tensor g64 = test::randn({3, 2, 2, d}, 72);
        Tensor expect =
            linear(mean(g64, {1, 2}) / std::sqrt(1.0 + 1e-6), fresh.head->weight, fresh.head->bias);
        QBH_CHECK_CLOSE(fresh.forward(g64), expect, 1e-12, 1e-10);
    }

    NonlinearProbe non(d, 2, k, gen, 2.0);
    CHECK(has_name(non, "block.attn.qkv.weight"));
    CHECK(non.num_parameters() == block_params(d, 16) + d * k + k);
    Tensor nl = non.forward(grid);
    CHECK(nl.shape() == Shape{4, k});
    sum(nl * test::randn({4, k}, 73, DType::f32)).backward();
    check_every_grad(non);
    {
        Generator g(12);
        NonlinearProbe probe(4, 2, 3, g, 2.0);
        probe.to(DType::f64);
        for (auto& [name, p] : probe.named_parameters()) {
            NoGradGuard ng;
            Tensor t = p;
            copy_(t, test::randn(p.shape(), 80, DType::f64) * 0.3);
        }
        Tensor in = test::randn({2, 2, 2, 4}, 74).set_requires_grad();
        QBH_GRADCHECK([&](const std::vector<Tensor>& v) { return probe.forward(v[0]); }, {in});
    }

    for (const char* kind : {"vit", "cnn"}) {
        INFO(kind);
        Generator g(13);
        Classifier clf(make_encoder(tiny_encoder(kind), g), k, g);
        CHECK(has_name(clf, "fc_norm.weight"));
        CHECK(has_name(clf, "head.weight"));
        CHECK(has_name(clf, std::string(kind) == "vit" ? "encoder.blocks.0.attn.qkv.weight"
                                                       : "encoder.conv1.weight"));
        CHECK(clf.num_parameters() == clf.encoder->num_parameters() + 2 * d + d * k + k);
        Tensor out = clf.forward(images(3, 2, 75));
        CHECK(out.shape() == Shape{3, k});
        sum(out * test::randn({3, k}, 76, DType::f32)).backward();
        check_every_grad(clf);
    }
}

TEST_CASE("models full: tiny overfit, loss decreases over 20 AdamW steps", "[models][full]") {
    Tensor x = images(2, 2, 81);
    auto train = [&](nn::Module& model, const std::function<Tensor()>& loss_fn) {
        optim::AdamW opt(optim::decay_groups(model.named_parameters(), 0.0), {.lr = 1e-2});
        double first = 0, last = 0;
        for (int step = 0; step < 20; ++step) {
            opt.zero_grad();
            Tensor loss = loss_fn();
            REQUIRE(std::isfinite(loss.item()));
            if (step == 0) first = loss.item();
            last = loss.item();
            loss.backward();
            opt.step();
        }
        INFO("first " << first << " last " << last);
        CHECK(last < 0.7 * first);
    };
    Generator g1(14);
    QBHeatModel qb(tiny_encoder(), tiny_decoder(), heat("cell"), LossConfig{}, g1);
    train(qb, [&] { return qb.forward(x, HeatCorner::tl).loss; });
    Generator g2(15);
    MaeModel mae(tiny_encoder(), tiny_decoder(), LossConfig{}, MaskingConfig{}, g2);
    auto m = quarter_masking(2);
    train(mae, [&] { return mae.forward(x, m).loss; });
}

TEST_CASE("models full: errors", "[models][full]") {
    Generator gen(16);
    CHECK_THROWS_WITH(
        MaeModel(tiny_encoder("cnn"), tiny_decoder(), LossConfig{}, MaskingConfig{}, gen),
        Contains("model.encoder"));
    MaskingConfig bad_fill;
    bad_fill.fill = "blur";
    CHECK_THROWS_WITH(MaeModel(tiny_encoder(), tiny_decoder(), LossConfig{}, bad_fill, gen),
                      Contains("mae.fill"));
    MaskingConfig bad_ratio;
    bad_ratio.mask_ratio = 1.0;
    CHECK_THROWS_WITH(MaeModel(tiny_encoder(), tiny_decoder(), LossConfig{}, bad_ratio, gen),
                      Contains("mae.mask_ratio"));
    CHECK_THROWS_WITH(random_masking(1, 2, 0.9, gen), Contains("keeps no token"));
    CHECK_THROWS_WITH(masking_from_shuffle(Tensor::from_vector({0, 0, 1}, {1, 3}, DType::i64), 1),
                      Contains("not a permutation"));
    CHECK_THROWS_WITH(
        QBHeatModel(tiny_encoder(), tiny_decoder(), heat("diffuse"), LossConfig{}, gen),
        Contains("heat.mode"));

    QBHeatModel qb(tiny_encoder(), tiny_decoder(), heat("cell"), LossConfig{}, gen);
    MaeModel mae(tiny_encoder(), tiny_decoder(), LossConfig{}, MaskingConfig{}, gen);
    Tensor wrong_size = test::randn({1, 2, 16, 16}, 90, DType::f32);
    Tensor wrong_channels = test::randn({1, 3, 8, 8}, 91, DType::f32);
    CHECK_THROWS_WITH(qb.forward(wrong_size, gen), Contains("model.image_size"));
    CHECK_THROWS_WITH(qb.forward(wrong_channels, gen), Contains("model.in_channels"));
    CHECK_THROWS_WITH(qb.encode_full(wrong_size), Contains("model.image_size"));
    CHECK_THROWS_WITH(mae.forward(wrong_size, gen), Contains("model.image_size"));
    CHECK_THROWS_WITH(mae.forward(wrong_channels, gen), Contains("model.in_channels"));
    CHECK_THROWS_WITH(mae.forward(images(2, 2, 92), quarter_masking(3)), Contains("another batch"));
    CHECK_THROWS_WITH(qb.forward(Tensor::zeros({8, 8}), gen), Contains("[N, C, H, W]"));

    CHECK_THROWS_WITH(LinearProbe(0, 3, gen), Contains("must be positive"));
    LinearProbe lin(8, 3, gen);
    CHECK_THROWS_WITH(lin.forward(Tensor::zeros({2, 2, 2, 5})), Contains("[N, h, w, 8]"));
    CHECK_THROWS_WITH(NonlinearProbe(8, 3, 3, gen), Contains("divisible by heads"));
    NonlinearProbe non(8, 2, 3, gen);
    CHECK_THROWS_WITH(non.forward(Tensor::zeros({2, 8})), Contains("[N, h, w, 8]"));
    CHECK_THROWS_WITH(Classifier(nullptr, 3, gen), Contains("encoder is null"));
    Classifier clf(make_encoder(tiny_encoder(), gen), 3, gen);
    CHECK_THROWS_WITH(clf.forward(wrong_channels), Contains("[N, 2, H, W]"));
}
