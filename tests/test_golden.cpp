// Golden tests: the engine's ops, a timm transformer block and three AdamW steps against values
// PyTorch computed (tests/golden/*.safetensors, written by tools/golden/make_golden.py). Each
// case reads its inputs, options (file metadata), outputs and gradients of sum(out * grad_out).
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/nn/nn.h"
#include "engine/optim/adamw.h"
#include "engine/optim/optimizer.h"
#include "tests/test_util.h"

using namespace qbh;

namespace {

const char* kRegenerate = "run `python3 tools/golden/make_golden.py` to (re)generate it";

// One golden file: its tensors by name and the per-case options from metadata "golden".
class Golden {
  public:
    explicit Golden(const std::string& filename) : path_(test::golden_path(filename)) {
        INFO("golden file " << path_);
        if (!std::filesystem::exists(path_))
            FAIL("missing golden file " << path_ << "; " << kRegenerate);
        io::SafetensorsFile file = io::load_safetensors(path_);
        for (const auto& [name, t] : file.tensors) tensors_[name] = t;
        auto meta = file.metadata.find("golden");
        if (meta == file.metadata.end())
            FAIL(path_ << " has no \"golden\" metadata; " << kRegenerate);
        cases_ = nlohmann::json::parse(meta->second).at("cases");
    }

    // The stored tensor "<case>.<name>"; a missing one fails the test.
    Tensor get(const std::string& c, const std::string& name) const {
        auto it = tensors_.find(c + "." + name);
        if (it == tensors_.end())
            FAIL(path_ << " lacks tensor " << c << "." << name << "; " << kRegenerate);
        return it->second;
    }
    // A stored input as a fresh leaf that records gradients, contiguous or strided.
    Tensor leaf(const std::string& c, const std::string& name, bool strided) const {
        Tensor t = strided ? test::noncontiguous(get(c, name)) : get(c, name).clone().detach();
        t.set_requires_grad();
        return t;
    }
    const nlohmann::json& options(const std::string& c) const {
        if (!cases_.contains(c)) FAIL(path_ << " has no case " << c << "; " << kRegenerate);
        return cases_.at(c);
    }
    // Tensors whose name starts with "<case>.<prefix>", keyed by the rest of the name.
    std::vector<std::pair<std::string, Tensor>> with_prefix(const std::string& c,
                                                            const std::string& prefix) const {
        std::vector<std::pair<std::string, Tensor>> out;
        std::string full = c + "." + prefix;
        for (const auto& [name, t] : tensors_)
            if (name.rfind(full, 0) == 0) out.emplace_back(name.substr(full.size()), t);
        return out;
    }

  private:
    std::string path_;
    std::map<std::string, Tensor> tensors_;
    nlohmann::json cases_;
};

// f64 goldens are compared to ~1e-10 relative; f32 ones to ~1e-5.
struct Tol {
    double atol, rtol;
};
Tol tol_for(const Tensor& t) {
    return t.dtype() == DType::f64 ? Tol{1e-10, 1e-10} : Tol{1e-5, 1e-5};
}

#define GOLDEN_CLOSE(actual, expected)                               \
    do {                                                             \
        Tol tol_ = tol_for(expected);                                \
        INFO("comparing " #actual);                                  \
        REQUIRE((actual).defined());                                 \
        CHECK((actual).dtype() == (expected).dtype());               \
        QBH_CHECK_CLOSE((actual), (expected), tol_.atol, tol_.rtol); \
    } while (0)

Reduction reduction_from(const std::string& s) {
    if (s == "mean") return Reduction::mean;
    if (s == "sum") return Reduction::sum;
    REQUIRE(s == "none");
    return Reduction::none;
}

}  // namespace

TEST_CASE("golden conv2d: stride 2 + padding 1, groups 2, depthwise", "[golden]") {
    Golden g("conv2d.safetensors");
    for (std::string c : {"stride2_pad1", "groups2", "depthwise", "stride2_pad1_f32"}) {
        for (bool strided : {false, true}) {
            INFO("case " << c << (strided ? " (non-contiguous inputs)" : ""));
            const auto& o = g.options(c);
            Conv2dOptions opt;
            opt.stride = o.at("stride").get<std::array<int64_t, 2>>();
            opt.padding = o.at("padding").get<std::array<int64_t, 2>>();
            opt.groups = o.at("groups").get<int64_t>();
            Tensor x = g.leaf(c, "x", strided), w = g.leaf(c, "weight", strided),
                   b = g.leaf(c, "bias", strided);
            Tensor out = conv2d(x, w, b, opt);
            GOLDEN_CLOSE(out, g.get(c, "out"));
            out.backward(g.get(c, "grad_out"));
            GOLDEN_CLOSE(x.grad(), g.get(c, "dx"));
            GOLDEN_CLOSE(w.grad(), g.get(c, "dweight"));
            GOLDEN_CLOSE(b.grad(), g.get(c, "dbias"));
        }
    }
}

TEST_CASE("golden layer_norm forward and backward (affine)", "[golden]") {
    Golden g("layer_norm.safetensors");
    for (std::string c : {"f64", "f32"}) {
        for (bool strided : {false, true}) {
            INFO("case " << c << (strided ? " (non-contiguous inputs)" : ""));
            Tensor x = g.leaf(c, "x", strided), w = g.leaf(c, "weight", strided),
                   b = g.leaf(c, "bias", strided);
            Tensor out = layer_norm(x, w, b, g.options(c).at("eps").get<double>());
            GOLDEN_CLOSE(out, g.get(c, "out"));
            out.backward(g.get(c, "grad_out"));
            GOLDEN_CLOSE(x.grad(), g.get(c, "dx"));
            GOLDEN_CLOSE(w.grad(), g.get(c, "dweight"));
            GOLDEN_CLOSE(b.grad(), g.get(c, "dbias"));
        }
    }
}

TEST_CASE("golden batch_norm train (with running stats) and eval", "[golden]") {
    Golden g("batch_norm.safetensors");
    for (std::string c : {"train_nchw", "eval_nchw", "train_nc_noaffine"}) {
        for (bool strided : {false, true}) {
            INFO("case " << c << (strided ? " (non-contiguous inputs)" : ""));
            const auto& o = g.options(c);
            bool affine = o.at("affine").get<bool>();
            Tensor x = g.leaf(c, "x", strided);
            Tensor w = affine ? g.leaf(c, "weight", strided) : Tensor();
            Tensor b = affine ? g.leaf(c, "bias", strided) : Tensor();
            // Updated in place by a training step; start from the stored values each pass.
            Tensor rm = g.get(c, "running_mean").clone(), rv = g.get(c, "running_var").clone();
            Tensor out = batch_norm(x, rm, rv, w, b, o.at("training").get<bool>(),
                                    o.at("momentum").get<double>(), o.at("eps").get<double>());
            GOLDEN_CLOSE(out, g.get(c, "out"));
            GOLDEN_CLOSE(rm, g.get(c, "running_mean_after"));
            GOLDEN_CLOSE(rv, g.get(c, "running_var_after"));
            out.backward(g.get(c, "grad_out"));
            GOLDEN_CLOSE(x.grad(), g.get(c, "dx"));
            if (affine) {
                GOLDEN_CLOSE(w.grad(), g.get(c, "dweight"));
                GOLDEN_CLOSE(b.grad(), g.get(c, "dbias"));
            }
        }
    }
}

TEST_CASE("golden scaled_dot_product_attention with and without mask", "[golden]") {
    Golden g("attention.safetensors");
    for (std::string c : {"nomask", "mask", "mask_bcast_scale", "mask_f32"}) {
        for (bool strided : {false, true}) {
            INFO("case " << c << (strided ? " (non-contiguous inputs)" : ""));
            const auto& o = g.options(c);
            Tensor q = g.leaf(c, "q", strided), k = g.leaf(c, "k", strided),
                   v = g.leaf(c, "v", strided);
            Tensor mask = o.at("has_mask").get<bool>() ? g.get(c, "mask") : Tensor();
            if (mask.defined() && strided) mask = test::noncontiguous(mask);
            Tensor out = scaled_dot_product_attention(q, k, v, mask, o.at("scale").get<double>());
            GOLDEN_CLOSE(out, g.get(c, "out"));
            out.backward(g.get(c, "grad_out"));
            GOLDEN_CLOSE(q.grad(), g.get(c, "dq"));
            GOLDEN_CLOSE(k.grad(), g.get(c, "dk"));
            GOLDEN_CLOSE(v.grad(), g.get(c, "dv"));
        }
    }
}

TEST_CASE("golden gelu (erf and tanh) forward and gradient", "[golden]") {
    Golden g("gelu.safetensors");
    for (std::string c : {"erf", "tanh", "erf_f32", "tanh_f32"}) {
        for (bool strided : {false, true}) {
            INFO("case " << c << (strided ? " (non-contiguous inputs)" : ""));
            std::string approx = g.options(c).at("approximate").get<std::string>();
            REQUIRE((approx == "none" || approx == "tanh"));
            Tensor x = g.leaf(c, "x", strided);
            Tensor out = gelu(x, approx == "tanh" ? GeluApprox::tanh : GeluApprox::none);
            GOLDEN_CLOSE(out, g.get(c, "out"));
            out.backward(g.get(c, "grad_out"));
            GOLDEN_CLOSE(x.grad(), g.get(c, "dx"));
        }
    }
}

TEST_CASE("golden cross_entropy with and without label smoothing", "[golden]") {
    Golden g("cross_entropy.safetensors");
    for (std::string c : {"plain", "smooth", "smooth_sum", "smooth_none"}) {
        for (bool strided : {false, true}) {
            INFO("case " << c << (strided ? " (non-contiguous inputs)" : ""));
            const auto& o = g.options(c);
            Tensor logits = g.leaf(c, "logits", strided);
            Tensor target = g.get(c, "target");
            REQUIRE(target.dtype() == DType::i64);
            Tensor out = cross_entropy(logits, target, o.at("label_smoothing").get<double>(),
                                       reduction_from(o.at("reduction").get<std::string>()));
            GOLDEN_CLOSE(out, g.get(c, "out"));
            out.backward(g.get(c, "grad_out"));
            GOLDEN_CLOSE(logits.grad(), g.get(c, "dlogits"));
        }
    }
}

TEST_CASE("golden transformer block (timm Block) forward and backward", "[golden]") {
    Golden g("transformer_block.safetensors");
    for (std::string c : {"f64", "f32"}) {
        INFO("case " << c);
        const auto& o = g.options(c);
        Generator gen(0);  // the init is overwritten by the golden parameters
        auto block = std::make_shared<nn::TransformerBlock>(
            o.at("dim").get<int64_t>(), o.at("heads").get<int64_t>(), gen,
            o.at("mlp_ratio").get<double>(), /*qkv_bias=*/true, o.at("eps").get<double>());
        block->to(g.get(c, "x").dtype());
        // Strict: every timm name must match one of ours, and the other way round.
        block->load_state_dict(g.with_prefix(c, "param."));
        Tensor x = g.leaf(c, "x", false);
        Tensor out = block->forward(x);
        GOLDEN_CLOSE(out, g.get(c, "out"));
        out.backward(g.get(c, "grad_out"));
        GOLDEN_CLOSE(x.grad(), g.get(c, "dx"));
        auto params = block->named_parameters();
        CHECK(params.size() == g.with_prefix(c, "grad.").size());
        for (const auto& [name, p] : params) {
            INFO("parameter " << name);
            GOLDEN_CLOSE(p.grad(), g.get(c, "grad." + name));
        }
    }
}

TEST_CASE("golden AdamW: three steps on a Linear-GELU-Linear MLP match torch", "[golden]") {
    Golden g("adamw_mlp.safetensors");
    const std::string c = "mlp";
    const auto& o = g.options(c);
    auto layers = o.at("layers").get<std::vector<int64_t>>();
    REQUIRE(layers.size() == 3);
    Generator gen(0);  // the init is overwritten by the golden parameters
    auto model = std::make_shared<nn::Sequential>();
    model->push_back(std::make_shared<nn::Linear>(layers[0], layers[1], gen));
    model->push_back(std::make_shared<nn::GELU>());
    model->push_back(std::make_shared<nn::Linear>(layers[1], layers[2], gen));
    model->to(DType::f64);
    model->load_state_dict(g.with_prefix(c, "init."));

    optim::AdamWOptions opt;
    opt.lr = o.at("lr").get<double>();
    opt.beta1 = o.at("betas").at(0).get<double>();
    opt.beta2 = o.at("betas").at(1).get<double>();
    opt.eps = o.at("eps").get<double>();
    optim::AdamW adamw(
        optim::decay_groups(model->named_parameters(), o.at("weight_decay").get<double>()), opt);

    Tensor x = g.get(c, "x"), target = g.get(c, "target");
    std::vector<double> losses = g.get(c, "losses").to_vector();
    REQUIRE(static_cast<int64_t>(losses.size()) == o.at("steps").get<int64_t>());
    for (size_t step = 0; step < losses.size(); ++step) {
        INFO("step " << step + 1);
        adamw.zero_grad();
        Tensor loss = mse_loss(model->forward(x), target);
        CHECK(loss.item() == Approx(losses[step]).epsilon(1e-10).margin(0));
        loss.backward();
        adamw.step();
    }
    auto params = model->named_parameters();
    CHECK(params.size() == g.with_prefix(c, "final.").size());
    for (const auto& [name, p] : params) {
        INFO("parameter " << name);
        GOLDEN_CLOSE(p, g.get(c, "final." + name));
    }
}
