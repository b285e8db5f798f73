// What follows the encoder: pick_corner, the heat predictor (cell/block/mask modes, layout and
// finite-difference gradients), the MAE-style decoder, patchify/unpatchify and the reconstruction
// loss against numbers from MAE's forward_loss in torch.
#include <cmath>
#include <set>

#include "models/heads.h"
#include "models/pos_embed.h"
#include "tests/test_util.h"

using namespace qbh;
using namespace qbh::models;

namespace {

const HeatCorner kCorners[4] = {HeatCorner::tl, HeatCorner::tr, HeatCorner::bl, HeatCorner::br};

HeatConfig heat_config(const std::string& mode, bool norm = false) {
    HeatConfig c;
    c.mode = mode;
    c.norm = norm;
    return c;
}

// Fills every parameter with small random values (zero A, B would hide their gradients).
void randomise(nn::Module& m, uint64_t seed) {
    NoGradGuard no_grad;
    for (auto& [name, p] : m.named_parameters()) {
        Tensor t = p;
        copy_(t, test::randn(p.shape(), seed++, p.dtype()) * 0.3);
    }
}

// Deterministic inputs shared with the Python snippet in the loss test.
Tensor sin_images(int64_t n, int64_t c, int64_t h, int64_t w) {
    std::vector<double> v(n * c * h * w);
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37 * double(i) + 0.1);
    return Tensor::from_vector(v, {n, c, h, w}, DType::f64);
}
Tensor cos_pred(int64_t n, int64_t l, int64_t p) {
    std::vector<double> v(n * l * p);
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::cos(0.23 * double(i));
    return Tensor::from_vector(v, {n, l, p}, DType::f64);
}

}  // namespace

TEST_CASE("models heads: pick_corner maps fixed corners and draws random ones uniformly",
          "[models][heads]") {
    Generator gen(1);
    const char* names[4] = {"tl", "tr", "bl", "br"};
    for (int i = 0; i < 4; ++i) {
        HeatConfig c;
        c.corner = names[i];
        CHECK(pick_corner(c, gen) == kCorners[i]);
    }
    CHECK(gen.offset() == 0);  // fixed corners draw nothing
    HeatConfig random;
    random.corner = "random";
    int counts[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4000; ++i) ++counts[static_cast<int>(pick_corner(random, gen))];
    for (int k = 0; k < 4; ++k) {
        CHECK(counts[k] > 880);  // 1000 expected, sd ~27
        CHECK(counts[k] < 1120);
    }
    Generator g1(7), g2(7);
    for (int i = 0; i < 20; ++i) CHECK(pick_corner(random, g1) == pick_corner(random, g2));
    HeatConfig bad;
    bad.corner = "middle";
    CHECK_THROWS_WITH(pick_corner(bad, gen), Catch::Contains("middle"));
}

TEST_CASE("models heads: HeatPredictor parameters and initialisation", "[models][heads]") {
    Generator gen(2);
    for (const char* mode : {"cell", "block"}) {
        HeatPredictor hp(6, heat_config(mode), gen);
        auto params = hp.named_parameters();
        REQUIRE(params.size() == 2);
        CHECK(params[0].first == "A");
        CHECK(params[1].first == "B");
        CHECK(hp.num_parameters() == 2 * 6 * 6);
        CHECK(sum(abs(hp.a)).item() == 0.0);
        CHECK(sum(abs(hp.b)).item() == 0.0);
        CHECK(!hp.mask_token.defined());
        // Zero maps: the prediction starts as a copy of the nearest visible cell.
        Tensor v = test::randn({2, 2, 2, 6}, 3, DType::f32);
        Tensor z = hp.forward(v, HeatCorner::tl);
        CHECK(z.shape() == Shape{2, 4, 4, 6});
        QBH_CHECK_CLOSE(z.slice(1, 0, 2).slice(2, 0, 2), v, 0.0, 0.0);
        QBH_CHECK_CLOSE(z.slice(1, 3, 4).slice(2, 3, 4), v.slice(1, 1, 2).slice(2, 1, 2), 0.0, 0.0);
    }
    HeatPredictor mask(1000, heat_config("mask"), gen);
    auto params = mask.named_parameters();
    REQUIRE(params.size() == 1);
    CHECK(params[0].first == "mask_token");
    CHECK(mask.num_parameters() == 1000);
    CHECK(!mask.a.defined());
    const double sd = std::sqrt(var(mask.mask_token, {0}).item());
    CHECK(sd > 0.018);
    CHECK(sd < 0.022);
    CHECK(std::abs(mean(mask.mask_token).item()) < 0.002);
    CHECK(mask.to_string() == "HeatPredictor(mode=mask, norm=False)");
}

TEST_CASE("models heads: HeatPredictor cell/block modes are heat_propagate with the config",
          "[models][heads]") {
    Generator gen(4);
    for (const char* mode : {"cell", "block"})
        for (bool norm : {false, true})
            for (HeatCorner corner : kCorners) {
                HeatPredictor hp(4, heat_config(mode, norm), gen);
                randomise(hp, 5);
                Tensor v = test::randn({2, 2, 3, 4}, 6, DType::f32);
                HeatOptions o{heat_mode_from_string(mode), corner, norm};
                Tensor want = heat_propagate(v, hp.a, hp.b, o);
                INFO(mode << " norm " << norm << " corner " << heat_corner_name(corner));
                QBH_CHECK_CLOSE(hp.forward(v, corner), want, 0.0, 0.0);
            }
}

TEST_CASE("models heads: HeatPredictor mask mode puts the visible block at the corner",
          "[models][heads]") {
    Generator gen(7);
    HeatPredictor hp(3, heat_config("mask"), gen);
    Tensor v = test::randn({2, 2, 3, 3}, 8, DType::f32);
    const std::vector<double> tok = hp.mask_token.to_vector();
    for (int ci = 0; ci < 4; ++ci) {
        Tensor z = hp.forward(v, kCorners[ci]);
        REQUIRE(z.shape() == Shape{2, 4, 6, 3});
        const int64_t r0 = ci < 2 ? 0 : 2, c0 = ci % 2 == 0 ? 0 : 3;
        for (int64_t n = 0; n < 2; ++n)
            for (int64_t i = 0; i < 4; ++i)
                for (int64_t j = 0; j < 6; ++j)
                    for (int64_t k = 0; k < 3; ++k) {
                        const bool vis = i >= r0 && i < r0 + 2 && j >= c0 && j < c0 + 3;
                        const double want = vis ? v.at({n, i - r0, j - c0, k}) : tok[k];
                        if (z.at({n, i, j, k}) != want) {
                            FAIL("corner " << ci << " cell " << i << "," << j << "," << k);
                        }
                    }
    }
}

TEST_CASE("models heads: HeatPredictor gradients by finite differences", "[models][heads]") {
    Generator gen(9);
    for (const char* mode : {"cell", "block"})
        for (bool norm : {false, true})
            for (HeatCorner corner : kCorners) {
                HeatPredictor hp(3, heat_config(mode, norm), gen);
                hp.to(DType::f64);
                randomise(hp, 10);
                Tensor v = test::randn({1, 2, 2, 3}, 11).set_requires_grad();
                INFO(mode << " norm " << norm << " corner " << heat_corner_name(corner));
                QBH_GRADCHECK(
                    [&](const std::vector<Tensor>& in) { return hp.forward(in[0], corner); },
                    {v, hp.a, hp.b});
            }
    HeatPredictor mask(3, heat_config("mask"), gen);
    mask.to(DType::f64);
    for (HeatCorner corner : kCorners) {
        Tensor v = test::randn({2, 2, 1, 3}, 12).set_requires_grad();
        QBH_GRADCHECK([&](const std::vector<Tensor>& in) { return mask.forward(in[0], corner); },
                      {v, mask.mask_token});
    }
}

TEST_CASE("models heads: HeatPredictor errors", "[models][heads][errors]") {
    Generator gen(13);
    CHECK_THROWS_WITH(HeatPredictor(4, heat_config("diffuse"), gen),
                      Catch::Contains("heat.mode") && Catch::Contains("diffuse"));
    CHECK_THROWS_WITH(HeatPredictor(0, heat_config("cell"), gen), Catch::Contains("width"));
    CHECK_THROWS_WITH(HeatPredictor(4, heat_config("mask", true), gen),
                      Catch::Contains("heat.norm"));
    HeatPredictor mask(4, heat_config("mask"), gen);
    CHECK_THROWS_WITH(mask.forward(Tensor::zeros({1, 2, 2, 5}), HeatCorner::tl),
                      Catch::Contains("[N, h, w, 4]") && Catch::Contains("f32[1, 2, 2, 5]"));
    CHECK_THROWS_WITH(mask.forward(Tensor::zeros({2, 2, 4}), HeatCorner::tl),
                      Catch::Contains("HeatPredictor"));
    CHECK_THROWS_WITH(mask.forward(Tensor::zeros({1, 2, 2, 4}, DType::f64), HeatCorner::tl),
                      Catch::Contains("dtype"));
    HeatPredictor cell(4, heat_config("cell"), gen);
    CHECK_THROWS(cell.forward(Tensor::zeros({1, 2, 2, 5}), HeatCorner::tl));
}

TEST_CASE("models heads: patchify layout and unpatchify round trip", "[models][heads]") {
    // MAE layout (python): x = arange(64.).reshape(2, 2, 4, 4); x.reshape(2, 2, 2, 2, 2, 2);
    // einsum('nchpwq->nhwpqc'); reshape(2, 4, 8)[0, :2] ->
    // [[0, 16, 1, 17, 4, 20, 5, 21], [2, 18, 3, 19, 6, 22, 7, 23]]
    Tensor x = Tensor::arange(64, DType::f64).reshape({2, 2, 4, 4});
    Tensor pt = patchify(x, 2);
    REQUIRE(pt.shape() == Shape{2, 4, 8});
    const std::vector<double> want = {0, 16, 1, 17, 4, 20, 5, 21, 2, 18, 3, 19, 6, 22, 7, 23};
    CHECK(pt.slice(0, 0, 1).slice(1, 0, 2).to_vector() == want);
    // Cell (1, 0) of image 1, channel 0, starts at row 2, col 0: 32 + 8.
    CHECK(pt.at({1, 2, 0}) == 40.0);
    for (int64_t c : {1, 3, 5}) {
        Tensor img = test::randn({2, c, 8, 8}, 14 + c);
        Tensor p4 = patchify(img, 4);
        CHECK(p4.shape() == Shape{2, 4, 16 * c});
        QBH_CHECK_CLOSE(unpatchify(p4, 4, c), img, 0.0, 0.0);
        QBH_CHECK_CLOSE(unpatchify(patchify(test::noncontiguous(img), 2), 2, c), img, 0.0, 0.0);
    }
    CHECK(patchify(test::randn({1, 1, 8, 4}, 20), 2).shape() == Shape{1, 8, 4});
}

TEST_CASE("models heads: patchify errors", "[models][heads][errors]") {
    CHECK_THROWS_WITH(patchify(Tensor::zeros({1, 6, 6}), 2), Catch::Contains("[N, C, H, W]"));
    CHECK_THROWS_WITH(patchify(Tensor::zeros({1, 1, 6, 6}), 4),
                      Catch::Contains("patch_size 4") && Catch::Contains("6 x 6"));
    CHECK_THROWS_WITH(patchify(Tensor::zeros({1, 1, 8, 6}), 4), Catch::Contains("divide"));
    CHECK_THROWS_WITH(patchify(Tensor::zeros({1, 1, 8, 8}), 0), Catch::Contains("positive"));
    CHECK_THROWS_WITH(unpatchify(Tensor::zeros({1, 4, 12}), 2, 2), Catch::Contains("channels"));
    CHECK_THROWS_WITH(unpatchify(Tensor::zeros({1, 6, 8}), 2, 2), Catch::Contains("square"));
    CHECK_THROWS_WITH(unpatchify(Tensor::zeros({4, 8}), 2, 2), Catch::Contains("[N, L, P]"));
}

TEST_CASE("models heads: hidden_cell_mask", "[models][heads]") {
    // Grid 4: the visible 2 x 2 block at the corner is 0, the rest 1.
    CHECK(hidden_cell_mask(4, HeatCorner::tl).to_vector() ==
          std::vector<double>{0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
    CHECK(hidden_cell_mask(4, HeatCorner::br).to_vector() ==
          std::vector<double>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0});
    CHECK(hidden_cell_mask(2, HeatCorner::tr).to_vector() == std::vector<double>{1, 0, 1, 1});
    CHECK(hidden_cell_mask(2, HeatCorner::bl).to_vector() == std::vector<double>{1, 1, 0, 1});
    Tensor m = hidden_cell_mask(8, HeatCorner::bl);
    CHECK(m.dtype() == DType::f32);
    CHECK(sum(m).item() == 48.0);
    CHECK_THROWS_WITH(hidden_cell_mask(5, HeatCorner::tl), Catch::Contains("even"));
    CHECK_THROWS_WITH(hidden_cell_mask(0, HeatCorner::tl), Catch::Contains("positive"));
}

TEST_CASE("models heads: reconstruction_loss matches MAE's forward_loss", "[models][heads]") {
    // Generated once with torch 2 (CPU, float64), MAE's patchify and forward_loss:
    //   N,C,H,W,p = 2,2,4,4,2; L, P = 4, 8
    //   imgs = torch.sin(0.37*torch.arange(64.)+0.1).reshape(N,C,H,W)
    //   pred = torch.cos(0.23*torch.arange(64.)).reshape(N,L,P)
    //   def loss(pred, imgs, mask, norm):
    //       t = patchify(imgs)
    //       if norm: m = t.mean(-1, keepdim=True); v = t.var(-1, keepdim=True)
    //                t = (t - m) / (v + 1e-6)**.5
    //       l = ((pred - t)**2).mean(-1); return (l * mask).sum() / mask.sum()
    //   m = torch.tensor([0.,1,1,1]).expand(N,L); mb = torch.tensor([[1.,0,1,0],[0,0,1,1]])
    //   loss(pred,imgs,m,True), loss(pred,imgs,m,False), loss(pred,imgs,torch.ones(N,L),True),
    //   loss(pred,imgs,mb,True)
    Tensor images = sin_images(2, 2, 4, 4);
    Tensor pred = cos_pred(2, 4, 8);
    Tensor hidden = hidden_cell_mask(2, HeatCorner::tl);  // [0, 1, 1, 1]
    LossConfig norm_masked, raw_masked, norm_all;
    raw_masked.norm_pix = false;
    norm_all.masked_only = false;
    CHECK(reconstruction_loss(pred, images, 2, hidden, norm_masked).item() ==
          Approx(1.4416756782329736).epsilon(1e-12));
    CHECK(reconstruction_loss(pred, images, 2, hidden, raw_masked).item() ==
          Approx(1.6007036209232304).epsilon(1e-12));
    CHECK(reconstruction_loss(pred, images, 2, hidden, norm_all).item() ==
          Approx(1.5618857894700149).epsilon(1e-12));
    CHECK(reconstruction_loss(pred, images, 2, Tensor(), norm_masked).item() ==
          Approx(1.5618857894700149).epsilon(1e-12));
    Tensor per_image = Tensor::from_vector({1, 0, 1, 0, 0, 0, 1, 1}, {2, 4});
    CHECK(reconstruction_loss(pred, images, 2, per_image, norm_masked).item() ==
          Approx(1.5671162824327147).epsilon(1e-12));
    // f32 prediction against f32 images: same value to float precision.
    CHECK(reconstruction_loss(pred.to(DType::f32), images.to(DType::f32), 2, hidden, norm_masked)
              .item() == Approx(1.4416756782329736).epsilon(1e-5));
}

TEST_CASE("models heads: reconstruction_loss gradient by finite differences", "[models][heads]") {
    Tensor images = sin_images(2, 1, 4, 4);
    Tensor pred = test::randn({2, 4, 4}, 21).set_requires_grad();
    for (bool norm_pix : {true, false})
        for (int weights = 0; weights < 3; ++weights) {
            LossConfig c;
            c.norm_pix = norm_pix;
            Tensor w = weights == 0   ? Tensor()
                       : weights == 1 ? hidden_cell_mask(2, HeatCorner::br)
                                      : Tensor::from_vector({0, 1, 1, 0, 1, 1, 1, 0}, {2, 4});
            INFO("norm_pix " << norm_pix << " weights " << weights);
            QBH_GRADCHECK(
                [&](const std::vector<Tensor>& in) {
                    return reconstruction_loss(in[0], images, 2, w, c);
                },
                {pred});
        }
    // Hidden-cell weights: no gradient reaches the visible cells.
    Tensor p = test::randn({2, 4, 4}, 22).set_requires_grad();
    reconstruction_loss(p, images, 2, hidden_cell_mask(2, HeatCorner::tl), {}).backward();
    CHECK(sum(abs(p.grad().slice(1, 0, 1))).item() == 0.0);
    CHECK(sum(abs(p.grad().slice(1, 1, 4))).item() > 0.0);
}

TEST_CASE("models heads: reconstruction_loss errors", "[models][heads][errors]") {
    Tensor images = Tensor::zeros({2, 1, 4, 4});
    CHECK_THROWS_WITH(reconstruction_loss(Tensor::zeros({2, 4, 5}), images, 2, Tensor(), {}),
                      Catch::Contains("[2, 4, 4]") && Catch::Contains("f32[2, 4, 5]"));
    CHECK_THROWS_WITH(reconstruction_loss(Tensor::zeros({3, 4, 4}), images, 2, Tensor(), {}),
                      Catch::Contains("pred"));
    CHECK_THROWS_WITH(reconstruction_loss(Tensor::zeros({2, 4, 4}), images, 3, Tensor(), {}),
                      Catch::Contains("divide"));
    CHECK_THROWS_WITH(
        reconstruction_loss(Tensor::zeros({2, 4, 4}), images, 2, Tensor::ones({16}), {}),
        Catch::Contains("cell_weight") && Catch::Contains("[4] or [2, 4]"));
    CHECK_THROWS_WITH(
        reconstruction_loss(Tensor::zeros({2, 4, 4}), images, 2, Tensor::ones({4, 4}), {}),
        Catch::Contains("cell_weight"));
}

TEST_CASE("models heads: Decoder shapes, parameter names and count", "[models][heads]") {
    Generator gen(30);
    DecoderConfig c;
    c.width = 16;
    c.depth = 2;
    c.heads = 4;
    Decoder dec(8, 4, 2, 3, c, gen);
    Tensor grid = test::randn({2, 4, 4, 8}, 31, DType::f32);
    CHECK(dec.forward(grid).shape() == Shape{2, 16, 12});
    // By hand: embed 8*16+16; per block: norm1 32, qkv 16*48+48, proj 16*16+16, norm2 32,
    // fc1 16*64+64, fc2 64*16+16 = 3280; norm 32; pred 16*12+12.
    CHECK(dec.num_parameters() == 144 + 2 * 3280 + 32 + 204);
    std::set<std::string> names;
    for (auto& [name, p] : dec.named_parameters()) names.insert(name);
    for (const char* n :
         {"embed.weight", "embed.bias", "blocks.0.attn.qkv.weight", "blocks.1.mlp.fc2.bias",
          "norm.weight", "norm.bias", "pred.weight", "pred.bias"})
        CHECK(names.count(n) == 1);
    // MAE init: zero biases, xavier-uniform weights (bound sqrt(6 / (fan_in + fan_out))).
    CHECK(sum(abs(dec.pred->bias)).item() == 0.0);
    CHECK(sum(abs(dec.blocks[0]->attn->qkv->bias)).item() == 0.0);
    const double bound = std::sqrt(6.0 / (16 + 48));
    CHECK(max(abs(dec.blocks[0]->attn->qkv->weight)).item() <= bound);
    CHECK(max(abs(dec.blocks[0]->attn->qkv->weight)).item() > 0.9 * bound);
    CHECK(dec.norm->eps == 1e-6);
    // The position embedding makes identical tokens decode differently per cell.
    Tensor same = Tensor::ones({1, 4, 4, 8});
    Tensor out = dec.forward(same);
    CHECK(sum(abs(out.slice(1, 0, 1) - out.slice(1, 5, 6))).item() > 1e-3);
    DecoderConfig shallow;
    shallow.width = 8;
    shallow.depth = 0;
    shallow.heads = 2;
    Decoder d0(4, 2, 4, 1, shallow, gen);
    CHECK(d0.forward(Tensor::zeros({3, 2, 2, 4})).shape() == Shape{3, 4, 16});
    CHECK(d0.num_parameters() == 4 * 8 + 8 + 16 + 8 * 16 + 16);
}

TEST_CASE("models heads: gradient reaches every Decoder parameter", "[models][heads]") {
    Generator gen(32);
    DecoderConfig c;
    c.width = 8;
    c.depth = 2;
    c.heads = 2;
    Decoder dec(4, 2, 2, 1, c, gen);
    Tensor grid = test::randn({2, 2, 2, 4}, 33, DType::f32).set_requires_grad();
    Tensor images = test::randn({2, 1, 4, 4}, 34, DType::f32);
    reconstruction_loss(dec.forward(grid), images, 2, hidden_cell_mask(2, HeatCorner::tl), {})
        .backward();
    for (const auto& [name, p] : dec.named_parameters()) {
        INFO(name);
        REQUIRE(p.grad().defined());
        CHECK(p.grad().shape() == p.shape());
        CHECK(std::isfinite(sum(p.grad()).item()));
        CHECK(sum(abs(p.grad())).item() > 0);
    }
    CHECK(sum(abs(grid.grad())).item() > 0);
}

TEST_CASE("models heads: Decoder gradients by finite differences in f64", "[models][heads]") {
    Generator gen(35);
    DecoderConfig c;
    c.width = 4;
    c.depth = 1;
    c.heads = 2;
    c.mlp_ratio = 2.0;
    Decoder dec(3, 2, 1, 2, c, gen);
    dec.to(DType::f64);
    randomise(dec, 36);
    std::vector<Tensor> inputs = dec.parameters();
    inputs.insert(inputs.begin(), test::randn({1, 2, 2, 3}, 37).set_requires_grad());
    QBH_GRADCHECK([&](const std::vector<Tensor>& in) { return dec.forward(in[0]); }, inputs);
}

TEST_CASE("models heads: Decoder errors", "[models][heads][errors]") {
    Generator gen(38);
    DecoderConfig c;
    c.width = 8;
    c.depth = 1;
    c.heads = 2;
    Decoder dec(4, 2, 2, 1, c, gen);
    CHECK_THROWS_WITH(dec.forward(Tensor::zeros({1, 4, 4, 4})),
                      Catch::Contains("[N, 2, 2, 4]") && Catch::Contains("f32[1, 4, 4, 4]"));
    CHECK_THROWS_WITH(dec.forward(Tensor::zeros({1, 2, 2, 5})), Catch::Contains("Decoder"));
    CHECK_THROWS_WITH(dec.forward(Tensor::zeros({4, 4, 4})), Catch::Contains("Decoder"));
    DecoderConfig bad = c;
    bad.heads = 3;
    CHECK_THROWS_WITH(Decoder(4, 2, 2, 1, bad, gen), Catch::Contains("decoder.heads"));
    bad = c;
    bad.width = 6;
    CHECK_THROWS_WITH(Decoder(4, 2, 2, 1, bad, gen), Catch::Contains("multiple of 4"));
    bad = c;
    bad.depth = -1;
    CHECK_THROWS_WITH(Decoder(4, 2, 2, 1, bad, gen), Catch::Contains("decoder.depth"));
    CHECK_THROWS_WITH(Decoder(4, 0, 2, 1, c, gen), Catch::Contains("grid 0"));
    CHECK_THROWS_WITH(Decoder(4, 2, 2, 0, c, gen), Catch::Contains("positive"));
}

TEST_CASE("models heads: Decoder forward is MAE's decoder path", "[models][heads]") {
    // embed -> + sin-cos table of the full grid -> blocks -> norm -> pred, composed by hand.
    Generator gen(39);
    DecoderConfig c;
    c.width = 8;
    c.depth = 2;
    c.heads = 2;
    Decoder dec(4, 2, 2, 3, c, gen);
    dec.to(DType::f64);
    randomise(dec, 40);
    Tensor grid = test::randn({2, 2, 2, 4}, 41);
    Tensor x =
        dec.embed->forward(grid.reshape({2, 4, 4})) + sincos_pos_embed_2d(2, 2, 8).to(DType::f64);
    for (auto& block : dec.blocks) x = block->forward(x);
    QBH_CHECK_CLOSE(dec.forward(grid), dec.pred->forward(dec.norm->forward(x)), 1e-12, 1e-12);
    QBH_CHECK_CLOSE(dec.forward(test::noncontiguous(grid)), dec.forward(grid), 1e-12, 1e-12);
}
