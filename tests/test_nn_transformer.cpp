// nn transformer pieces and module odds and ends: attention against a naive timm-layout
// reference, gradients of a TransformerBlock (reach and finite differences), repr, Dropout,
// python_float, forward shapes and layer error paths.
#include <cmath>
#include <limits>

#include "engine/nn/nn.h"
#include "tests/test_util.h"

using namespace qbh;
using namespace qbh::nn;

namespace {

// timm Attention by loops: qkv [B, L, 3D] holds q, k, v at column s * D + h * hd + e.
Tensor attention_ref(const MultiheadAttention& attn, const Tensor& x, const Tensor& mask) {
    const int64_t B = x.size(0), L = x.size(1), D = attn.dim, H = attn.heads, hd = D / H;
    std::vector<double> xv = x.to_vector(), w = attn.qkv->weight.to_vector(),
                        b = attn.qkv->bias.to_vector();
    std::vector<double> qkv(B * L * 3 * D), o(B * L * D);
    for (int64_t r = 0; r < B * L; ++r)
        for (int64_t c = 0; c < 3 * D; ++c) {
            double acc = b[c];
            for (int64_t i = 0; i < D; ++i) acc += xv[r * D + i] * w[c * D + i];
            qkv[r * 3 * D + c] = acc;
        }
    auto at = [&](int64_t bi, int64_t l, int64_t s, int64_t h, int64_t e) {
        return qkv[(bi * L + l) * 3 * D + s * D + h * hd + e];
    };
    std::vector<double> m = mask.defined() ? mask.to_vector() : std::vector<double>(L * L, 1.0);
    for (int64_t bi = 0; bi < B; ++bi)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < L; ++i) {
                std::vector<double> p(L);
                double top = -std::numeric_limits<double>::infinity(), total = 0;
                for (int64_t j = 0; j < L; ++j) {
                    double s = 0;
                    for (int64_t e = 0; e < hd; ++e) s += at(bi, i, 0, h, e) * at(bi, j, 1, h, e);
                    p[j] = m[i * L + j] != 0 ? s / std::sqrt(double(hd))
                                             : -std::numeric_limits<double>::infinity();
                    top = std::max(top, p[j]);
                }
                for (double& v : p) total += (v = std::exp(v - top));
                for (int64_t e = 0; e < hd; ++e) {
                    double acc = 0;
                    for (int64_t j = 0; j < L; ++j) acc += p[j] / total * at(bi, j, 2, h, e);
                    o[(bi * L + i) * D + h * hd + e] = acc;
                }
            }
    std::vector<double> pw = attn.proj->weight.to_vector(), pb = attn.proj->bias.to_vector(),
                        y(B * L * D);
    for (int64_t r = 0; r < B * L; ++r)
        for (int64_t c = 0; c < D; ++c) {
            double acc = pb[c];
            for (int64_t i = 0; i < D; ++i) acc += o[r * D + i] * pw[c * D + i];
            y[r * D + c] = acc;
        }
    return Tensor::from_vector(y, x.shape(), x.dtype());
}

}  // namespace

TEST_CASE("nn: MultiheadAttention forward matches timm's layout", "[nn]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        Generator gen(20);
        MultiheadAttention attn(8, 2, gen);
        attn.to(dt);
        Tensor x = test::randn({2, 5, 8}, 21, dt);
        QBH_CHECK_CLOSE(attn.forward(x), attention_ref(attn, x, Tensor()), tol, tol);
        QBH_CHECK_CLOSE(attn.forward(test::noncontiguous(x)), attention_ref(attn, x, Tensor()), tol,
                        tol);
        // Causal mask [L, L]: 1 = may attend.
        std::vector<double> causal(25);
        for (int i = 0; i < 5; ++i)
            for (int j = 0; j < 5; ++j) causal[i * 5 + j] = j <= i ? 1.0 : 0.0;
        Tensor mask = Tensor::from_vector(causal, {5, 5}, dt);
        QBH_CHECK_CLOSE(attn.forward(x, mask), attention_ref(attn, x, mask), tol, tol);
    }
}

TEST_CASE("nn: forward shapes", "[nn]") {
    Generator gen(22);
    Tensor tokens = test::randn({2, 6, 8}, 23, DType::f32);
    CHECK(Linear(8, 3, gen).forward(tokens).shape() == Shape{2, 6, 3});
    CHECK(LayerNorm(8).forward(tokens).shape() == Shape{2, 6, 8});
    CHECK(MultiheadAttention(8, 4, gen).forward(tokens).shape() == Shape{2, 6, 8});
    CHECK(MLP(8, 16, gen).forward(tokens).shape() == Shape{2, 6, 8});
    CHECK(MLP(8, 16, gen, 5).forward(tokens).shape() == Shape{2, 6, 5});
    CHECK(TransformerBlock(8, 2, gen).forward(tokens).shape() == Shape{2, 6, 8});
    Sequential head{std::make_shared<Linear>(8, 4, gen), std::make_shared<GELU>(),
                    std::make_shared<Identity>(), std::make_shared<Linear>(4, 2, gen)};
    CHECK(head.forward(tokens).shape() == Shape{2, 6, 2});
    Tensor image = test::randn({2, 3, 8, 8}, 24, DType::f32);
    CHECK(Conv2d(3, 4, 3, gen, 1, 1).forward(image).shape() == Shape{2, 4, 8, 8});
    CHECK(Conv2d(3, 6, 4, gen, 4, 0, 3).forward(image).shape() == Shape{2, 6, 2, 2});
    CHECK(BatchNorm2d(3).forward(image).shape() == Shape{2, 3, 8, 8});
}

TEST_CASE("nn: gradient reaches every TransformerBlock parameter", "[nn]") {
    Generator gen(25);
    TransformerBlock block(8, 2, gen);
    Tensor x = test::randn({2, 4, 8}, 26, DType::f32).set_requires_grad();
    Tensor target = test::randn({2, 4, 8}, 27, DType::f32);
    sum(square(block.forward(x) - target)).backward();
    for (const auto& [name, p] : block.named_parameters()) {
        INFO(name);
        REQUIRE(p.grad().defined());
        CHECK(p.grad().shape() == p.shape());
        CHECK(sum(abs(p.grad())).item() > 0);
    }
    CHECK(sum(abs(x.grad())).item() > 0);
}

TEST_CASE("nn: TransformerBlock gradients by finite differences", "[nn][gradcheck]") {
    Generator gen(28);
    TransformerBlock block(8, 2, gen);
    block.to(DType::f64);
    {
        // Non-trivial norm parameters, so their gradients are checked at a generic point.
        NoGradGuard no_grad;
        for (auto* ln : {block.norm1.get(), block.norm2.get()}) {
            copy_(ln->weight, test::randn({8}, 29) * 0.3 + 1.0);
            copy_(ln->bias, test::randn({8}, 30) * 0.3);
        }
    }
    std::vector<Tensor> inputs = block.parameters();
    auto f = [&](const std::vector<Tensor>& in) { return block.forward(in[0]); };
    Tensor x = test::randn({2, 3, 8}, 31).set_requires_grad();
    inputs.insert(inputs.begin(), x);
    QBH_GRADCHECK(f, inputs);
    Tensor xn = test::noncontiguous(test::randn({1, 3, 8}, 32)).set_requires_grad();
    QBH_GRADCHECK(f, {xn});
    // With a mask that hides the last key from the first query.
    Tensor mask = Tensor::ones({3, 3}, DType::f64);
    {
        NoGradGuard no_grad;
        Tensor cell = mask.slice(0, 0, 1).slice(1, 2, 3);
        fill_(cell, 0.0);
    }
    QBH_GRADCHECK([&](const std::vector<Tensor>& in) { return block.forward(in[0], mask); }, {xn});
}

TEST_CASE("nn: to_string prints the tree like PyTorch", "[nn]") {
    Generator gen(33);
    auto inner = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Linear>(8, 8, gen), std::make_shared<BatchNorm1d>(8)});
    Sequential net{std::make_shared<Linear>(4, 8, gen), std::make_shared<ReLU>(), inner,
                   std::make_shared<Dropout>(0.1, gen)};
    CHECK(net.to_string() ==
          "Sequential(\n"
          "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
          "  (1): ReLU()\n"
          "  (2): Sequential(\n"
          "    (0): Linear(in_features=8, out_features=8, bias=True)\n"
          "    (1): BatchNorm1d(8, eps=1e-05, momentum=0.1, affine=True, "
          "track_running_stats=True)\n"
          "  )\n"
          "  (3): Dropout(p=0.1, inplace=False)\n"
          ")");
    TransformerBlock block(8, 2, gen);
    const std::string s = block.to_string();
    CHECK_THAT(s, Catch::StartsWith("TransformerBlock(\n  (norm1): LayerNorm((8,), eps=1e-06, "
                                    "elementwise_affine=True)\n  (attn): MultiheadAttention(\n"
                                    "    dim=8, heads=2\n    (qkv): Linear(in_features=8, "
                                    "out_features=24, bias=True)"));
    CHECK_THAT(s, Catch::Contains("    (act): GELU(approximate='none')\n"));
    CHECK(Conv2d(3, 8, 4, gen, 4, 1, 1, false).to_string() ==
          "Conv2d(3, 8, kernel_size=(4, 4), stride=(4, 4), padding=(1, 1), bias=False)");
    CHECK(python_float(1e-6) == "1e-06");
    CHECK(python_float(4.0) == "4.0");
    CHECK(python_float(0.25) == "0.25");
    CHECK(python_float(100.0) == "100.0");
    CHECK(python_float(1.5e-5) == "1.5e-05");
    CHECK(python_float(0.0001) == "0.0001");
}

TEST_CASE("nn: Dropout module follows the mode and its generator", "[nn]") {
    Generator g1(34), g2(34);
    Dropout d1(0.5, g1), d2(0.5, g2);
    Tensor x = Tensor::ones({1000});
    Tensor a = d1.forward(x), b = d2.forward(x);
    CHECK(a.to_vector() == b.to_vector());
    int zeros = 0;
    for (double v : a.to_vector()) {
        CHECK((v == 0.0 || v == 2.0));
        zeros += v == 0.0;
    }
    CHECK(zeros > 400);
    CHECK(zeros < 600);
    d1.eval();
    CHECK(d1.forward(x).to_vector() == x.to_vector());
}

TEST_CASE("nn: layer errors name the layer and the shapes", "[nn][errors]") {
    Generator gen(35);
    CHECK_THROWS_WITH(Linear(4, 3, gen).forward(Tensor::zeros({2, 5})),
                      Catch::Contains("Linear") && Catch::Contains("f32[2, 5]") &&
                          Catch::Contains("in_features=4"));
    CHECK_THROWS_WITH(Linear(0, 3, gen), Catch::Contains("positive"));
    CHECK_THROWS_WITH(MultiheadAttention(10, 3, gen),
                      Catch::Contains("dim 10") && Catch::Contains("heads 3"));
    CHECK_THROWS_WITH(TransformerBlock(10, 4, gen), Catch::Contains("TransformerBlock") &&
                                                        Catch::Contains("dim 10") &&
                                                        Catch::Contains("heads 4"));
    CHECK_THROWS_WITH(MultiheadAttention(8, 2, gen).forward(Tensor::zeros({2, 8})),
                      Catch::Contains("[B, L, dim]") && Catch::Contains("f32[2, 8]"));
    CHECK_THROWS_WITH(TransformerBlock(8, 2, gen, 0.0), Catch::Contains("mlp_ratio"));
    CHECK_THROWS_WITH(LayerNorm(4).forward(Tensor::zeros({2, 5})),
                      Catch::Contains("LayerNorm") && Catch::Contains("dim=4"));
    CHECK_THROWS_WITH(BatchNorm2d(3).forward(Tensor::zeros({2, 3})),
                      Catch::Contains("BatchNorm2d") && Catch::Contains("[N, C, H, W]"));
    CHECK_THROWS_WITH(BatchNorm1d(3).forward(Tensor::zeros({2, 4})),
                      Catch::Contains("num_features = 3"));
    CHECK_THROWS_WITH(BatchNorm1d(3).forward(Tensor::zeros({1, 3})),
                      Catch::Contains("more than one value per channel"));
    CHECK_THROWS_WITH(BatchNorm1d(3, 1e-5, 1.5), Catch::Contains("momentum"));
    CHECK_THROWS_WITH(Conv2d(4, 6, 3, gen, 1, 0, 4), Catch::Contains("divisible by groups 4"));
    CHECK_THROWS_WITH(Conv2d(3, 6, 3, gen).forward(Tensor::zeros({1, 4, 5, 5})),
                      Catch::Contains("Conv2d") && Catch::Contains("in_channels = 3"));
    CHECK_THROWS_WITH(Dropout(1.0, gen), Catch::Contains("[0, 1)"));
    CHECK_THROWS_WITH(MLP(4, 8, gen, -1), Catch::Contains("out_features"));
    Sequential empty;
    CHECK_THROWS_WITH(empty[0], Catch::Contains("out of range"));
}
