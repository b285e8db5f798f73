// Optimisers: SGD, AdamW and LARS against hand-computed steps and a PyTorch golden file, MAE's
// decay groups, gradient clipping, the warm-up + cosine schedule, checkpoint state round trips
// (through a safetensors file) and every error path.
#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <numbers>
#include <numeric>

#include "engine/io/safetensors.h"
#include "engine/optim/optim.h"
#include "tests/test_util.h"

using namespace qbh;
using namespace qbh::optim;

namespace {

Tensor param(const std::vector<double>& v, const Shape& shape, DType dt = DType::f64) {
    return Tensor::from_vector(v, shape, dt).set_requires_grad();
}

void set_grad(Tensor& p, const std::vector<double>& g) {
    p.set_grad(Tensor::from_vector(g, p.shape(), p.dtype()));
}

// The same three gradients for every hand-computed test, on p0 = [1, -2].
const std::vector<std::vector<double>> kGrads = {{0.5, -1.0}, {-0.25, 0.75}, {1.0, 0.5}};

// Runs the three steps of kGrads on p (a parameter already in `opt`) and checks p after each
// against `expected` (computed by hand in float64 Python; see each test).
void check_steps(Optimizer& opt, Tensor& p, const std::vector<std::vector<double>>& expected,
                 double rtol) {
    for (size_t t = 0; t < kGrads.size(); ++t) {
        INFO("step " << t << " in " << dtype_name(p.dtype()));
        set_grad(p, kGrads[t]);
        opt.step();
        QBH_CHECK_CLOSE(p, Tensor::from_vector(expected[t], p.shape(), DType::f64), 0.0, rtol);
    }
    CHECK(opt.steps() == 3);
}

double rtol_for(DType dt) {
    return dt == DType::f64 ? 1e-13 : 2e-6;
}

}  // namespace

TEST_CASE("optim: SGD steps match hand-computed values", "[optim]") {
    // buf = d on the first step (undamped, as torch), then 0.9 buf + 0.5 d; d = g + 0.01 p;
    // p -= 0.1 buf. Step 1: d = [0.51, -1.02] -> p = [0.949, -1.898].
    const std::vector<std::vector<double>> expected = {{0.949, -1.898},
                                                       {0.9151254999999999, -1.8427509999999998},
                                                       {0.83418088725, -1.8171055244999998}};
    for (DType dt : {DType::f64, DType::f32}) {
        Tensor p = param({1.0, -2.0}, {2}, dt);
        SGD opt({{{p}}}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5, .weight_decay = 0.01});
        check_steps(opt, p, expected, rtol_for(dt));
    }
    // Plain SGD keeps no state: p -= lr g.
    Tensor p = param({1.0, -2.0}, {2});
    SGD plain({{{p}}}, {.lr = 0.5});
    set_grad(p, {0.5, -1.0});
    plain.step();
    CHECK(p.to_vector() == std::vector<double>{0.75, -1.5});
    CHECK(plain.state_tensors().size() == 1);  // only "step"
}

TEST_CASE("optim: AdamW steps match hand-computed values", "[optim]") {
    // Textbook form: p *= 1 - lr wd; m, v moving averages; p -= lr m_hat / (sqrt(v_hat) + eps)
    // with lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.01. Step 1 moves each entry by ~lr.
    const std::vector<std::vector<double>> expected = {{0.8990000019999999, -1.898000001},
                                                       {0.8714672987058462, -1.8871695003595355},
                                                       {0.8047846723763838, -1.9026137890095642}};
    for (DType dt : {DType::f64, DType::f32}) {
        Tensor p = param({1.0, -2.0}, {2}, dt);
        AdamW opt({{{p}}}, {.lr = 0.1, .weight_decay = 0.01});
        check_steps(opt, p, expected, rtol_for(dt));
    }
}

TEST_CASE("optim: LARS steps match hand-computed values", "[optim]") {
    // A matrix [1, 2]: d = g + 0.1 p, q = 0.01 ||p|| / ||d||, mu = 0.9 mu + q d, p -= mu.
    // Step 1: d = 0.6 p exactly, so q d = 0.01 p and p = 0.99 p0 = [0.99, -1.98].
    const std::vector<std::vector<double>> matrix = {{0.99, -1.98},
                                                     {0.9868410130520568, -1.9833525775148038},
                                                     {0.9626355561572343, -1.9922353443365244}};
    // A vector [2] (bias, norm weight): no decay, no trust ratio: mu = 0.9 mu + g; p -= mu.
    const std::vector<std::vector<double>> vector = {
        {0.5, -1.0}, {0.3, -0.85}, {-0.8799999999999999, -1.2149999999999999}};
    LARSOptions options{.lr = 1.0, .weight_decay = 0.1, .momentum = 0.9, .trust_coefficient = 0.01};
    for (DType dt : {DType::f64, DType::f32}) {
        Tensor w = param({1.0, -2.0}, {1, 2}, dt);
        LARS opt_w({{{w}}}, options);
        check_steps(opt_w, w, matrix, rtol_for(dt));
        Tensor b = param({1.0, -2.0}, {2}, dt);
        LARS opt_b({{{b}}}, options);
        check_steps(opt_b, b, vector, rtol_for(dt));
    }
    // Zero parameter norm: q = 1, the update is g + wd p = g.
    Tensor z = param({0.0, 0.0}, {2, 1});
    LARS opt_z({{{z}}}, options);
    set_grad(z, {0.5, -1.0});
    opt_z.step();
    CHECK(z.to_vector() == std::vector<double>{-0.5, 1.0});
}

TEST_CASE("optim: AdamW, SGD (Nesterov) and LARS match PyTorch over 3 steps", "[optim][golden]") {
    // Written by tools/golden/optim_small.py; b has no gradient at step 1 (skipped).
    io::SafetensorsFile f = io::load_safetensors(test::golden_path("optim_adamw_sgd.safetensors"));
    auto h = [&](const std::string& key) { return std::stod(f.metadata.at(key)); };
    struct Case {
        std::string tag;
        DType dtype;
        std::function<std::unique_ptr<Optimizer>(Tensor&, Tensor&)> make;
        double rtol;
    };
    std::vector<Case> cases = {
        {"adamw", DType::f64,
         [&](Tensor& w, Tensor& b) {
             AdamWOptions o{.lr = h("adamw_lr"),
                            .beta1 = h("adamw_beta1"),
                            .beta2 = h("adamw_beta2"),
                            .eps = h("adamw_eps")};
             return std::make_unique<AdamW>(
                 std::vector<ParamGroup>{{{b}, kUnset, 0.0}, {{w}, kUnset, h("adamw_wd")}}, o);
         },
         1e-12},
        {"sgd", DType::f64,
         [&](Tensor& w, Tensor& b) {
             SGDOptions o{.lr = h("sgd_lr"), .momentum = h("sgd_momentum"), .nesterov = true};
             return std::make_unique<SGD>(
                 std::vector<ParamGroup>{{{b}, kUnset, 0.0}, {{w}, kUnset, h("sgd_wd")}}, o);
         },
         1e-12},
        {"lars", DType::f64,
         [&](Tensor& w, Tensor& b) {
             LARSOptions o{.lr = h("lars_lr"),
                           .weight_decay = h("lars_wd"),
                           .momentum = h("lars_momentum"),
                           .trust_coefficient = h("lars_trust")};
             return std::make_unique<LARS>(std::vector<ParamGroup>{{{w, b}}}, o);
         },
         1e-12},
    };
    cases.push_back(cases[0]);
    cases.back().tag = "adamw_f32";
    cases.back().dtype = DType::f32;
    cases.back().rtol = 2e-6;
    for (const Case& c : cases) {
        Tensor w = f.at("init.w").to(c.dtype).clone().set_requires_grad();
        Tensor b = f.at("init.b").to(c.dtype).clone().set_requires_grad();
        std::unique_ptr<Optimizer> opt = c.make(w, b);
        for (int t = 0; t < 3; ++t) {
            INFO(c.tag << " step " << t);
            std::string s = std::to_string(t);
            w.set_grad(f.at("grad." + s + ".w").to(c.dtype));
            b.set_grad(f.contains("grad." + s + ".b") ? f.at("grad." + s + ".b").to(c.dtype)
                                                      : Tensor());
            opt->step();
            QBH_CHECK_CLOSE(w, f.at(c.tag + "." + s + ".w"), 1e-7 * c.rtol, c.rtol);
            QBH_CHECK_CLOSE(b, f.at(c.tag + "." + s + ".b"), 1e-7 * c.rtol, c.rtol);
        }
    }
}

TEST_CASE("optim: decay_groups, default hyperparameters, set_lr and zero_grad", "[optim]") {
    Tensor w = Tensor::zeros({3, 4}).set_requires_grad();
    Tensor bias = Tensor::zeros({4}).set_requires_grad();
    Tensor norm_w = Tensor::ones({4}).set_requires_grad();
    Tensor conv = Tensor::zeros({2, 1, 3, 3}).set_requires_grad();
    Tensor frozen = Tensor::zeros({5, 5});  // requires_grad false: left out
    std::vector<ParamGroup> g = decay_groups({{"fc.weight", w},
                                              {"fc.bias", bias},
                                              {"norm.weight", norm_w},
                                              {"conv.weight", conv},
                                              {"pos_embed", frozen}},
                                             0.05);
    REQUIRE(g.size() == 2);
    REQUIRE(g[0].params.size() == 2);
    CHECK(g[0].params[0].same(bias));
    CHECK(g[0].params[1].same(norm_w));
    CHECK(g[0].weight_decay == 0.0);
    REQUIRE(g[1].params.size() == 2);
    CHECK(g[1].params[0].same(w));
    CHECK(g[1].params[1].same(conv));
    CHECK(g[1].weight_decay == 0.05);
    CHECK(std::isnan(g[0].lr));

    g[1].lr_scale = 0.5;
    AdamW opt(g, {.lr = 2e-3});
    CHECK(opt.groups()[0].lr == 2e-3);  // unset lr -> the optimiser's
    CHECK(opt.groups()[1].lr == 2e-3);  // lr_scale applies only through set_lr, as in MAE
    CHECK(opt.groups()[1].weight_decay == 0.05);
    opt.set_lr(0.1);
    CHECK(opt.groups()[0].lr == 0.1);
    CHECK(opt.groups()[1].lr == 0.05);
    AdamW defaults({{{Tensor::zeros({2})}}});
    CHECK(defaults.groups()[0].weight_decay == 1e-2);  // torch's AdamW default

    // A parameter without .grad is skipped and keeps no state; zero_grad drops the grads.
    w.set_grad(Tensor::ones({3, 4}));
    opt.step();
    CHECK(bias.to_vector() == std::vector<double>(4, 0.0));
    CHECK(w.at({0, 0}) < 0);
    CHECK(opt.state_tensors().size() == 1 + 3);  // step + w's three buffers
    opt.zero_grad();
    CHECK_FALSE(w.grad().defined());
}

TEST_CASE("optim: clip_grad_norm", "[optim]") {
    Tensor a = param({3.0, 0.0}, {2});
    Tensor b = param({0.0, 0.0, 4.0, 0.0}, {2, 2});
    Tensor no_grad = param({1.0}, {1});
    a.set_grad(Tensor::from_vector({3.0, 0.0}, {2}, DType::f64));
    // A non-contiguous gradient is scaled in place too.
    b.set_grad(test::noncontiguous(Tensor::from_vector({0, 0, 4, 0}, {2, 2}, DType::f64)));
    CHECK(clip_grad_norm({a, b, no_grad}, 10.0) == Approx(5.0));  // below: unchanged
    CHECK(a.grad().to_vector() == std::vector<double>{3.0, 0.0});
    CHECK(clip_grad_norm({a, b, no_grad}, 1.0) == Approx(5.0));
    double s = 1.0 / (5.0 + 1e-6);
    QBH_CHECK_CLOSE(a.grad(), Tensor::from_vector({3 * s, 0}, {2}, DType::f64), 1e-15, 1e-14);
    QBH_CHECK_CLOSE(b.grad(), Tensor::from_vector({0, 0, 4 * s, 0}, {2, 2}, DType::f64), 1e-15,
                    1e-14);
    CHECK(clip_grad_norm({a, b}, 1.0) == Approx(1.0).epsilon(1e-5));

    Tensor f = param({0, 0}, {2}, DType::f32);
    f.set_grad(Tensor::from_vector({6.0, 8.0}, {2}, DType::f32));
    CHECK(clip_grad_norm({f}, 5.0) == Approx(10.0));
    QBH_CHECK_CLOSE(f.grad(), Tensor::from_vector({3.0, 4.0}, {2}, DType::f64), 1e-6, 1e-6);

    // NaN or Inf total: returned, gradients untouched.
    a.set_grad(Tensor::from_vector({NAN, 1.0}, {2}, DType::f64));
    CHECK(std::isnan(clip_grad_norm({a, b}, 1.0)));
    CHECK(a.grad().to_vector()[1] == 1.0);
    a.set_grad(Tensor::from_vector({INFINITY, 1.0}, {2}, DType::f64));
    CHECK(std::isinf(clip_grad_norm({a}, 1.0)));
    CHECK(a.grad().to_vector()[1] == 1.0);
    CHECK(clip_grad_norm({no_grad}, 1.0) == 0.0);
}

TEST_CASE("optim: large parameters (parallel, chunked norms) match a plain reference", "[optim]") {
    const Shape shape{300, 401};  // 120300 elements: many chunks, above the parallel threshold
    for (DType dt : {DType::f64, DType::f32}) {
        INFO(dtype_name(dt));
        Tensor init = test::randn(shape, 5, dt), grad = test::randn(shape, 6, dt);
        std::vector<double> p = init.to_vector(), g = grad.to_vector();
        // LARS, one step from zero momentum: p -= lr q (g + wd p).
        const double lr = 0.5, wd = 0.1, trust = 0.01;
        double pn2 = 0, dn2 = 0;
        for (size_t i = 0; i < p.size(); ++i) {
            pn2 += p[i] * p[i];
            dn2 += (g[i] + wd * p[i]) * (g[i] + wd * p[i]);
        }
        double q = trust * std::sqrt(pn2) / std::sqrt(dn2);
        std::vector<double> expected(p.size());
        for (size_t i = 0; i < p.size(); ++i) expected[i] = p[i] - lr * q * (g[i] + wd * p[i]);
        std::vector<std::vector<double>> results;
        const int saved_threads = omp_get_max_threads();
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            Tensor w = init.clone().set_requires_grad();
            w.set_grad(grad.clone());
            LARS opt({{{w}}}, {.lr = lr, .weight_decay = wd, .trust_coefficient = trust});
            opt.step();
            QBH_CHECK_CLOSE(w, Tensor::from_vector(expected, shape, DType::f64), 1e-6,
                            dt == DType::f64 ? 1e-12 : 1e-5);
            // Clipping to half the norm.
            double norm = std::sqrt(std::inner_product(g.begin(), g.end(), g.begin(), 0.0));
            CHECK(clip_grad_norm({w}, norm / 2) == Approx(norm).epsilon(1e-6));
            CHECK(w.grad().at({7, 9}) == Approx(g[7 * 401 + 9] / 2).epsilon(1e-5));
            results.push_back(w.to_vector());
            results.push_back(w.grad().to_vector());
        }
        omp_set_num_threads(saved_threads);
        CHECK(results[0] == results[2]);  // the same bits with 1 and 2 threads
        CHECK(results[1] == results[3]);
    }
}

TEST_CASE("optim: WarmupCosine", "[optim]") {
    WarmupCosine s(1e-3, 10, 110, 1e-5);
    CHECK(s.lr_at(0) == 0.0);
    CHECK(s.lr_at(5) == Approx(5e-4));                         // mid warm-up
    CHECK(s.lr_at(10) == Approx(1e-3));                        // end of warm-up: the top
    CHECK(s.lr_at(60) == Approx(1e-5 + (1e-3 - 1e-5) * 0.5));  // halfway down the cosine
    CHECK(s.lr_at(35) == Approx(1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + std::cos(std::numbers::pi / 4))));
    CHECK(s.lr_at(110) == Approx(1e-5));  // end
    CHECK(s.lr_at(500) == 1e-5);          // after the end: stays at min_lr
    for (int64_t t = 11; t < 110; ++t) CHECK(s.lr_at(t) < s.lr_at(t - 1));
    WarmupCosine no_warmup(0.1, 0, 4);
    CHECK(no_warmup.lr_at(0) == 0.1);
    CHECK(no_warmup.lr_at(2) == Approx(0.05));
}

namespace {

// Trains two steps, checkpoints the optimiser state (and parameters) through a safetensors
// file, restores both into a fresh optimiser and checks the next step is bit-identical.
template <class Opt, class Options>
void check_state_round_trip(const Options& options) {
    auto make_params = [] {
        return std::vector<Tensor>{test::randn({3, 4}, 1).set_requires_grad(),
                                   test::randn({4}, 2).set_requires_grad()};
    };
    auto groups = [](std::vector<Tensor>& p) {
        return std::vector<ParamGroup>{{{p[1]}, kUnset, 0.0}, {{p[0]}}};
    };
    auto give_grads = [](std::vector<Tensor>& p, uint64_t seed) {
        for (size_t i = 0; i < p.size(); ++i) p[i].set_grad(test::randn(p[i].shape(), seed + i));
    };
    std::vector<Tensor> pa = make_params();
    Opt a(groups(pa), options);
    give_grads(pa, 10);
    a.step();
    give_grads(pa, 20);
    pa[1].zero_grad();  // the bias skips step 2
    a.step();

    std::string path = (std::filesystem::temp_directory_path() /
                        ("qbh_optim_" + std::to_string(::getpid()) + ".safetensors"))
                           .string();
    io::NamedTensors ckpt = a.state_tensors();
    ckpt.emplace_back("param.w", pa[0]);
    ckpt.emplace_back("param.b", pa[1]);
    io::save_safetensors(path, ckpt);
    io::SafetensorsFile loaded = io::load_safetensors(path);
    std::filesystem::remove(path);

    std::vector<Tensor> pb = {loaded.at("param.w").clone().set_requires_grad(),
                              loaded.at("param.b").clone().set_requires_grad()};
    std::vector<Tensor> pc = {pb[0].detach().clone().set_requires_grad(),
                              pb[1].detach().clone().set_requires_grad()};
    io::NamedTensors state;
    for (const auto& [name, t] : loaded.tensors)
        if (name.rfind("param.", 0) != 0) state.emplace_back(name, t);
    Opt b(groups(pb), options);
    b.load_state_tensors(state);
    CHECK(b.steps() == 2);
    Opt fresh(groups(pc), options);  // no state: must differ, or the test proves nothing
    for (auto* p : {&pa, &pb, &pc}) give_grads(*p, 30);
    a.step();
    b.step();
    fresh.step();
    for (size_t i = 0; i < pa.size(); ++i) {
        CHECK(pb[i].to_vector() == pa[i].to_vector());
        CHECK(pc[i].to_vector() != pa[i].to_vector());
    }
}

}  // namespace

TEST_CASE("optim: state_tensors round trip reproduces the next step exactly", "[optim]") {
    SECTION("AdamW") {
        check_state_round_trip<AdamW>(AdamWOptions{.lr = 0.01});
    }
    SECTION("SGD") {
        check_state_round_trip<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
    }
    SECTION("LARS") {
        check_state_round_trip<LARS>(LARSOptions{.lr = 0.1, .weight_decay = 0.1});
    }
    Tensor w = param({1, 2}, {2});
    AdamW opt({{{w}}});
    set_grad(w, {1, 1});
    opt.step();
    std::vector<std::string> names;
    for (const auto& [n, t] : opt.state_tensors()) names.push_back(n);
    CHECK(names == std::vector<std::string>{"step", "state.0.0.exp_avg", "state.0.0.exp_avg_sq",
                                            "state.0.0.step"});
}

TEST_CASE("optim: errors", "[optim][errors]") {
    using Catch::Contains;
    Tensor w = param({1, 2, 3, 4}, {2, 2});
    Tensor b = param({1, 2}, {2});
    // Construction.
    CHECK_THROWS_WITH(SGD({{{w, Tensor()}}}), Contains("SGD: group 0 parameter 1 is undefined"));
    CHECK_THROWS_WITH(SGD({{{Tensor::zeros({2}, DType::i64)}}}), Contains("must be f32 or f64"));
    CHECK_THROWS_WITH(AdamW({{{w}}, {{b, w}}}),
                      Contains("group 1 parameter 1") && Contains("appears more than once"));
    CHECK_THROWS_WITH(AdamW({{{w.transpose(0, 1)}}}), Contains("not contiguous"));
    CHECK_THROWS_WITH(AdamW({{{w}}}, {.lr = -1}), Contains("AdamW: lr must be"));
    CHECK_THROWS_WITH(AdamW({{{w}, 0.1, INFINITY}}, {}),
                      Contains("AdamW: group 0: weight_decay must be"));
    CHECK_THROWS_WITH(AdamW({{{w}, -0.1}}), Contains("AdamW: group 0: lr must be"));
    CHECK_THROWS_WITH(AdamW({{{w}, 0.1, 0.0, -1.0}}), Contains("lr_scale must be"));
    CHECK_THROWS_WITH(AdamW({{{w}}}, {.beta2 = 1.0}), Contains("betas must lie in [0, 1)"));
    CHECK_THROWS_WITH(AdamW({{{w}}}, {.eps = -1}), Contains("eps must be"));
    CHECK_THROWS_WITH(SGD({{{w}}}, {.momentum = 0, .nesterov = true}),
                      Contains("Nesterov momentum needs momentum > 0"));
    CHECK_THROWS_WITH(SGD({{{w}}}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                      Contains("dampening 0"));
    CHECK_THROWS_WITH(LARS({{{w}}}, {.trust_coefficient = 0}), Contains("trust_coefficient"));
    CHECK_THROWS_WITH(decay_groups({{"x", Tensor()}}, 0.05), Contains("parameter 'x'"));
    CHECK_THROWS_WITH(decay_groups({}, -1), Contains("weight_decay must be"));

    // set_lr, clip, schedule.
    AdamW opt({{{w}}, {{b}}});
    CHECK_THROWS_WITH(opt.set_lr(NAN), Contains("AdamW.set_lr: lr must be"));
    CHECK_THROWS_WITH(clip_grad_norm({w}, 0.0), Contains("max_norm must be"));
    CHECK_THROWS_WITH(clip_grad_norm({Tensor()}, 1.0), Contains("undefined"));
    CHECK_THROWS_WITH(WarmupCosine(-1, 0, 10), Contains("base_lr"));
    CHECK_THROWS_WITH(WarmupCosine(1, 0, 10, 2), Contains("min_lr must lie in"));
    CHECK_THROWS_WITH(WarmupCosine(1, 11, 10), Contains("warmup_steps <= total_steps"));
    CHECK_THROWS_WITH(WarmupCosine(1, 0, 0), Contains("total_steps > 0"));
    CHECK_THROWS_WITH(WarmupCosine(1, 0, 10).lr_at(-1), Contains("step must be >= 0"));

    // load_state_tensors: nothing changes when it throws.
    set_grad(w, {1, 1, 1, 1});
    opt.step();
    io::NamedTensors good = opt.state_tensors();
    auto with = [&](const std::string& name, const Tensor& t) {
        io::NamedTensors s = good;
        s.emplace_back(name, t);
        return s;
    };
    Tensor m = Tensor::zeros({2, 2}, DType::f64);
    CHECK_THROWS_WITH(opt.load_state_tensors(with("state.0.0.mu", m)),
                      Contains("AdamW.load_state_tensors: unknown entry 'state.0.0.mu'") &&
                          Contains("exp_avg, exp_avg_sq, step"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("weights", m)), Contains("unknown entry"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("state.x.0.exp_avg", m)),
                      Contains("unknown entry"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("state.2.0.exp_avg", m)),
                      Contains("group 2") && Contains("has 2 groups"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("state.1.1.exp_avg", m)),
                      Contains("has 1 parameters in that group"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("state.0.0.exp_avg", m)),
                      Contains("'state.0.0.exp_avg' appears twice"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("state.1.0.exp_avg", m)),
                      Contains("is f64[2, 2] cpu, expected f64[2]"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("state.1.0.step", Tensor::scalar(1))),
                      Contains("expected i64[]"));
    CHECK_THROWS_WITH(
        opt.load_state_tensors(with("state.1.0.exp_avg", Tensor::zeros({2}, DType::f64))),
        Contains("group 1 parameter 0 is incomplete"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("x", Tensor())), Contains("'x' is undefined"));
    CHECK_THROWS_WITH(opt.load_state_tensors(with("step", Tensor::scalar(1, DType::i64))),
                      Contains("'step' appears twice"));
    CHECK_THROWS_WITH(opt.load_state_tensors({}), Contains("no 'step' entry"));
    CHECK_THROWS_WITH(opt.load_state_tensors({{"step", Tensor::scalar(1)}}), Contains("0-d i64"));
    CHECK(opt.steps() == 1);
    CHECK(opt.state_tensors().size() == good.size());
    opt.load_state_tensors({{"step", Tensor::scalar(7, DType::i64)}});  // valid: no buffers yet
    CHECK(opt.steps() == 7);
    CHECK(opt.state_tensors().size() == 1);
}
