// nn modules: parameter naming as PyTorch's state_dict, state loading and its errors, modes,
// BatchNorm running statistics, repr, and forwards against naive references.
#include <cmath>

#include "engine/nn/nn.h"
#include "tests/test_util.h"

using namespace qbh;
using namespace qbh::nn;

namespace {

std::vector<std::string> names_of(const NamedTensors& named) {
    std::vector<std::string> out;
    for (const auto& [name, t] : named) out.push_back(name);
    return out;
}

// y[r, o] = sum_i x[r, i] w[o, i] + b[o] over the rows of x [..., in].
Tensor linear_ref(const Tensor& x, const Tensor& w, const Tensor& b) {
    const int64_t in = w.size(1), out = w.size(0), rows = x.numel() / in;
    std::vector<double> xv = x.to_vector(), wv = w.to_vector(), y(rows * out);
    std::vector<double> bv = b.defined() ? b.to_vector() : std::vector<double>(out, 0.0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out; ++o) {
            double acc = bv[o];
            for (int64_t i = 0; i < in; ++i) acc += xv[r * in + i] * wv[o * in + i];
            y[r * out + o] = acc;
        }
    Shape s = x.shape();
    s.back() = out;
    return Tensor::from_vector(y, s, x.dtype());
}

// Sequential{Linear(4, 8), ReLU, Sequential{Linear(8, 8), BatchNorm1d(8)}, Linear(8, 2)}.
std::shared_ptr<Sequential> nested_net(Generator& gen) {
    auto inner = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Linear>(8, 8, gen), std::make_shared<BatchNorm1d>(8)});
    return std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Linear>(4, 8, gen), std::make_shared<ReLU>(), inner,
        std::make_shared<Linear>(8, 2, gen)});
}

}  // namespace

TEST_CASE("nn: Linear and Conv2d parameters and default init", "[nn]") {
    Generator gen(1);
    Linear fc(16, 5, gen);
    CHECK(names_of(fc.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    CHECK(fc.weight.shape() == Shape{5, 16});
    CHECK(fc.bias.shape() == Shape{5});
    CHECK(fc.weight.requires_grad());
    CHECK(fc.num_parameters() == 85);
    for (double v : fc.weight.to_vector()) CHECK(std::abs(v) <= 0.25);
    for (double v : fc.bias.to_vector()) CHECK(std::abs(v) <= 0.25);
    CHECK(Linear(3, 2, gen, false).named_parameters().size() == 1);

    Conv2d conv(4, 6, 3, gen, 1, 1, 2);
    CHECK(conv.weight.shape() == Shape{6, 2, 3, 3});
    const double bound = 1.0 / std::sqrt(2.0 * 9.0);  // fan_in = in / groups * k * k
    double largest = 0;
    for (double v : conv.weight.to_vector()) largest = std::max(largest, std::abs(v));
    CHECK(largest <= bound);
    CHECK(largest > 0.9 * bound);
    CHECK(Conv2d(3, 8, 4, gen, 4, 0, 1, false).named_parameters().size() == 1);
}

TEST_CASE("nn: norm layers, buffers and state_dict order", "[nn]") {
    LayerNorm ln(6, 1e-6);
    CHECK(ln.weight.to_vector() == std::vector<double>(6, 1.0));
    CHECK(ln.bias.to_vector() == std::vector<double>(6, 0.0));
    CHECK(LayerNorm(6, 1e-5, false).named_parameters().empty());

    BatchNorm2d bn(3);
    CHECK(names_of(bn.state_dict()) == std::vector<std::string>{"weight", "bias", "running_mean",
                                                                "running_var",
                                                                "num_batches_tracked"});
    CHECK(names_of(bn.named_buffers()) ==
          std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
    CHECK(bn.num_batches_tracked.dtype() == DType::i64);
    CHECK(bn.num_batches_tracked.shape() == Shape{});
    CHECK(bn.running_var.to_vector() == std::vector<double>(3, 1.0));
    CHECK(!bn.running_mean.requires_grad());
    BatchNorm1d probe_bn(4, 1e-6, 0.1, false);  // the linear probe's BatchNorm
    CHECK(probe_bn.named_parameters().empty());
    CHECK(names_of(probe_bn.state_dict()) ==
          std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
}

TEST_CASE("nn: nested Sequential names, children and counts", "[nn]") {
    Generator gen(2);
    auto net = nested_net(gen);
    CHECK(names_of(net->named_parameters()) ==
          std::vector<std::string>{"0.weight", "0.bias", "2.0.weight", "2.0.bias", "2.1.weight",
                                   "2.1.bias", "3.weight", "3.bias"});
    CHECK(names_of(net->state_dict()) ==
          std::vector<std::string>{"0.weight", "0.bias", "2.0.weight", "2.0.bias", "2.1.weight",
                                   "2.1.bias", "2.1.running_mean", "2.1.running_var",
                                   "2.1.num_batches_tracked", "3.weight", "3.bias"});
    CHECK(net->num_parameters() == (4 * 8 + 8) + (8 * 8 + 8) + (8 + 8) + (8 * 2 + 2));
    CHECK(net->parameters().size() == 8);
    CHECK(net->size() == 4);
    CHECK(net->named_children().size() == 4);
    CHECK((*net)[1]->type_name() == "ReLU");
    std::vector<std::string> module_names;
    for (auto& [name, m] : net->named_modules()) module_names.push_back(name);
    CHECK(module_names == std::vector<std::string>{"", "0", "1", "2", "2.0", "2.1", "3"});
    CHECK(net->find("2.1.running_var")
              .same(std::dynamic_pointer_cast<BatchNorm1d>(
                        std::dynamic_pointer_cast<Sequential>((*net)[2])->operator[](1))
                        ->running_var));
}

TEST_CASE("nn: TransformerBlock parameter names match timm", "[nn]") {
    Generator gen(3);
    TransformerBlock block(8, 2, gen);
    CHECK(names_of(block.named_parameters()) ==
          std::vector<std::string>{"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias",
                                   "attn.proj.weight", "attn.proj.bias", "norm2.weight",
                                   "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight",
                                   "mlp.fc2.bias"});
    CHECK(block.num_parameters() == 872);  // sum(p.numel()) of timm Block(8, 2)
    CHECK(block.attn->qkv->weight.shape() == Shape{24, 8});
    CHECK(block.mlp->fc1->weight.shape() == Shape{32, 8});
    CHECK(block.norm1->eps == 1e-6);
    TransformerBlock lean(8, 4, gen, 2.0, false, 1e-5);
    CHECK(lean.num_parameters() == 872 - 24 - (32 * 8 + 32 + 8 * 32) + (16 * 8 + 16 + 8 * 16));
    CHECK(lean.norm2->eps == 1e-5);
    Sequential blocks;
    blocks.push_back(std::make_shared<TransformerBlock>(8, 2, gen));
    blocks.push_back(std::make_shared<TransformerBlock>(8, 2, gen));
    CHECK(blocks.named_parameters()[14].first == "1.attn.qkv.weight");
}

TEST_CASE("nn: registration errors", "[nn][errors]") {
    Module m;
    m.register_parameter("w", Tensor::zeros({2}));
    CHECK_THROWS_WITH(m.register_parameter("w", Tensor::zeros({2})),
                      Catch::Contains("'w'") && Catch::Contains("already taken"));
    CHECK_THROWS_WITH(m.register_buffer("w", Tensor::zeros({2})), Catch::Contains("already"));
    CHECK_THROWS_WITH(m.register_parameter("a.b", Tensor::zeros({2})), Catch::Contains("'.'"));
    CHECK_THROWS_WITH(m.register_buffer("", Tensor::zeros({2})), Catch::Contains("non-empty"));
    CHECK_THROWS_WITH(m.register_module("c", std::shared_ptr<Module>()), Catch::Contains("null"));
    Tensor leaf = Tensor::ones({2}).set_requires_grad();
    CHECK_THROWS_WITH(m.register_parameter("derived", leaf * 2.0), Catch::Contains("history"));
    CHECK_THROWS_WITH(m.forward(Tensor::zeros({1})), Catch::Contains("no single-input forward"));
    CHECK_THROWS_WITH(m.find("nope"), Catch::Contains("'nope'") && Catch::Contains("w"));
}

TEST_CASE("nn: state_dict round trip copies values in place", "[nn]") {
    Generator g1(4), g2(5);
    auto a = nested_net(g1);
    auto b = nested_net(g2);
    Tensor x = test::randn({5, 4}, 6, DType::f32);
    a->eval();
    b->eval();
    CHECK(a->forward(x).to_vector() != b->forward(x).to_vector());
    Tensor b_weight = b->find("0.weight");
    {
        NoGradGuard no_grad;
        Tensor rm = a->find("2.1.running_mean");
        fill_(rm, 0.5);  // buffers travel too
    }
    LoadResult r = b->load_state_dict(a->state_dict());
    CHECK(r.missing_keys.empty());
    CHECK(r.unexpected_keys.empty());
    CHECK(b->forward(x).to_vector() == a->forward(x).to_vector());
    CHECK(b->find("0.weight").same(b_weight));  // handles held by layers stay valid
    CHECK(b->find("2.1.running_mean").to_vector() == std::vector<double>(8, 0.5));
    CHECK(b->find("0.weight").storage() != a->find("0.weight").storage());  // a copy
}

TEST_CASE("nn: load_state_dict reports missing, unexpected and mismatched keys", "[nn][errors]") {
    Generator gen(7);
    Linear fc(3, 2, gen);
    const std::vector<double> before = fc.weight.to_vector();
    NamedTensors missing = {{"weight", Tensor::zeros({2, 3})}};
    CHECK_THROWS_WITH(fc.load_state_dict(missing),
                      Catch::Contains("missing keys [bias]") && Catch::Contains("Linear"));
    NamedTensors extra = {{"weight", Tensor::zeros({2, 3})},
                          {"bias", Tensor::zeros({2})},
                          {"scale", Tensor::zeros({1})}};
    CHECK_THROWS_WITH(fc.load_state_dict(extra), Catch::Contains("unexpected keys [scale]"));
    NamedTensors shape = {{"weight", Tensor::zeros({3, 2})}, {"bias", Tensor::zeros({2})}};
    CHECK_THROWS_WITH(fc.load_state_dict(shape),
                      Catch::Contains("weight: expected f32[2, 3], got f32[3, 2]"));
    CHECK_THROWS_WITH(fc.load_state_dict(shape, false), Catch::Contains("weight: expected"));
    NamedTensors dtype = {{"weight", Tensor::zeros({2, 3}, DType::f64)},
                          {"bias", Tensor::zeros({2})}};
    CHECK_THROWS_WITH(fc.load_state_dict(dtype), Catch::Contains("got f64[2, 3]"));
    NamedTensors twice = {{"bias", Tensor::zeros({2})}, {"bias", Tensor::zeros({2})}};
    CHECK_THROWS_WITH(fc.load_state_dict(twice), Catch::Contains("twice"));
    NamedTensors undefined = {{"bias", Tensor()}};
    CHECK_THROWS_WITH(fc.load_state_dict(undefined), Catch::Contains("undefined"));
    CHECK(fc.weight.to_vector() == before);  // nothing was copied by a failing load

    // strict = false loads what fits and reports the rest.
    LoadResult r = fc.load_state_dict(extra, false);
    CHECK(r.unexpected_keys == std::vector<std::string>{"scale"});
    CHECK(fc.weight.to_vector() == std::vector<double>(6, 0.0));
    r = fc.load_state_dict({{"bias", Tensor::ones({2})}}, false);
    CHECK(r.missing_keys == std::vector<std::string>{"weight"});
    CHECK(fc.bias.to_vector() == std::vector<double>{1, 1});
}

TEST_CASE("nn: train/eval propagate, zero_grad, dtype conversion", "[nn]") {
    Generator gen(8);
    auto net = nested_net(gen);
    auto all_modes = [&](bool expected) {
        for (auto& [name, m] : net->named_modules())
            if (m->is_training() != expected) return false;
        return true;
    };
    CHECK(all_modes(true));
    net->eval();
    CHECK(all_modes(false));
    net->train();
    CHECK(all_modes(true));
    net->train(false);
    CHECK(all_modes(false));

    sum(net->forward(test::randn({3, 4}, 9, DType::f32))).backward();
    for (const Tensor& p : net->parameters()) CHECK(p.grad().defined());
    net->zero_grad();
    for (const Tensor& p : net->parameters()) CHECK(!p.grad().defined());

    Tensor w = net->find("0.weight");
    const std::vector<double> values = w.to_vector();
    net->to(DType::f64);
    CHECK(w.dtype() == DType::f64);  // the same handle, converted in place
    CHECK(w.to_vector() == values);
    CHECK(w.requires_grad());
    CHECK(net->find("2.1.running_var").dtype() == DType::f64);
    CHECK(net->find("2.1.num_batches_tracked").dtype() == DType::i64);
    CHECK(net->forward(test::randn({3, 4}, 9)).dtype() == DType::f64);
    CHECK_THROWS_WITH(net->to(DType::i64), Catch::Contains("floating"));
}

TEST_CASE("nn: BatchNorm running statistics change only in training", "[nn]") {
    BatchNorm2d bn(2, 1e-5, 0.1);
    Tensor x = test::randn({4, 2, 3, 3}, 10, DType::f64) * 2.0 + 1.0;
    bn.to(DType::f64);
    std::vector<double> xv = x.to_vector(), mean(2, 0), var(2, 0);
    for (int64_t c = 0; c < 2; ++c) {
        std::vector<double> vals;
        for (int64_t n = 0; n < 4; ++n)
            for (int64_t i = 0; i < 9; ++i) vals.push_back(xv[(n * 2 + c) * 9 + i]);
        for (double v : vals) mean[c] += v / 36;
        for (double v : vals) var[c] += (v - mean[c]) * (v - mean[c]) / 35;  // unbiased
    }
    bn.eval();
    bn.forward(x);
    CHECK(bn.running_mean.to_vector() == std::vector<double>{0, 0});
    CHECK(bn.num_batches_tracked.item() == 0);
    bn.train();
    Tensor y = bn.forward(x);
    CHECK(bn.num_batches_tracked.item() == 1);
    QBH_CHECK_CLOSE(bn.running_mean,
                    Tensor::from_vector({0.1 * mean[0], 0.1 * mean[1]}, {2}, DType::f64), 1e-12,
                    1e-12);
    QBH_CHECK_CLOSE(bn.running_var,
                    Tensor::from_vector({0.9 + 0.1 * var[0], 0.9 + 0.1 * var[1]}, {2}, DType::f64),
                    1e-12, 1e-12);
    CHECK(y.at({1, 1, 2, 0}) ==
          Approx((xv[(1 * 2 + 1) * 9 + 6] - mean[1]) / std::sqrt(var[1] * 35 / 36 + 1e-5)));
    bn.eval();
    const std::vector<double> frozen = bn.running_mean.to_vector();
    Tensor e = bn.forward(x);
    CHECK(bn.running_mean.to_vector() == frozen);
    CHECK(bn.num_batches_tracked.item() == 1);
    const double rm = frozen[0], rv = bn.running_var.to_vector()[0];
    CHECK(e.at({0, 0, 0, 0}) == Approx((xv[0] - rm) / std::sqrt(rv + 1e-5)));
    BatchNorm1d bn1(3);
    CHECK(bn1.forward(test::randn({4, 3, 5}, 11, DType::f32)).shape() == Shape{4, 3, 5});
    CHECK(bn1.forward(test::randn({4, 3}, 11, DType::f32)).shape() == Shape{4, 3});
}

TEST_CASE("nn: Linear and LayerNorm forward against naive loops", "[nn]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        Generator gen(12);
        Linear fc(5, 3, gen);
        fc.to(dt);
        Tensor x = test::randn({2, 4, 5}, 13, dt);
        QBH_CHECK_CLOSE(fc.forward(x), linear_ref(x, fc.weight, fc.bias), tol, tol);
        QBH_CHECK_CLOSE(fc.forward(test::noncontiguous(x)), linear_ref(x, fc.weight, fc.bias), tol,
                        tol);

        LayerNorm ln(5, 1e-6);
        ln.to(dt);
        {
            NoGradGuard no_grad;
            copy_(ln.weight, test::randn({5}, 14, dt));
            copy_(ln.bias, test::randn({5}, 15, dt));
        }
        std::vector<double> xv = x.to_vector(), w = ln.weight.to_vector(), b = ln.bias.to_vector(),
                            ref(xv.size());
        for (size_t r = 0; r < xv.size() / 5; ++r) {
            double m = 0, v = 0;
            for (int i = 0; i < 5; ++i) m += xv[r * 5 + i] / 5;
            for (int i = 0; i < 5; ++i) v += (xv[r * 5 + i] - m) * (xv[r * 5 + i] - m) / 5;
            for (int i = 0; i < 5; ++i)
                ref[r * 5 + i] = (xv[r * 5 + i] - m) / std::sqrt(v + 1e-6) * w[i] + b[i];
        }
        QBH_CHECK_CLOSE(ln.forward(x), Tensor::from_vector(ref, x.shape(), dt), tol, tol);
    }
}
