// The optimiser base (see optimizer.h): group validation, the step loop over parameters with
// gradients, lazily created state, checkpoint state by name, and gradient clipping.
#include "engine/optim/optimizer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/view.h"
#include "engine/optim/optim_cpu.h"

namespace qbh::optim {

namespace {

void check_hyper(const std::string& op, const std::string& what, double value) {
    QBH_CHECK(std::isfinite(value) && value >= 0,
              op << ": " << what << " must be a finite number >= 0, got " << value);
}

// Parses "state.<group>.<index>.<buffer>"; false when `name` has another form.
bool parse_state_name(const std::string& name, size_t* group, size_t* index, std::string* buffer) {
    const std::string prefix = "state.";
    if (name.rfind(prefix, 0) != 0) return false;
    const char* p = name.data() + prefix.size();
    const char* end = name.data() + name.size();
    for (size_t* out : {group, index}) {
        auto [next, ec] = std::from_chars(p, end, *out);
        if (ec != std::errc() || next == end || *next != '.') return false;
        p = next + 1;
    }
    *buffer = std::string(p, end);
    return !buffer->empty();
}

std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
    return s.empty() ? "(none)" : s;
}

}  // namespace

std::vector<ParamGroup> decay_groups(const NamedTensors& named_params, double weight_decay) {
    check_hyper("decay_groups", "weight_decay", weight_decay);
    ParamGroup no_decay{.params = {}, .lr = kUnset, .weight_decay = 0.0};
    ParamGroup decay{.params = {}, .lr = kUnset, .weight_decay = weight_decay};
    for (const auto& [name, p] : named_params) {
        QBH_CHECK(p.defined(), "decay_groups: parameter '" << name << "' is undefined");
        if (!p.requires_grad()) continue;
        (p.dim() < 2 ? no_decay : decay).params.push_back(p);
    }
    return {no_decay, decay};
}

// ---- Optimizer ----

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr,
                     double default_weight_decay)
    : name_(std::move(name)), groups_(std::move(groups)) {
    check_hyper(name_, "lr", default_lr);
    check_hyper(name_, "weight_decay", default_weight_decay);
    std::set<const TensorImpl*> seen;
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        ParamGroup& g = groups_[gi];
        if (std::isnan(g.lr)) g.lr = default_lr;
        if (std::isnan(g.weight_decay)) g.weight_decay = default_weight_decay;
        std::string where = name_ + ": group " + std::to_string(gi);
        check_hyper(where, "lr", g.lr);
        check_hyper(where, "weight_decay", g.weight_decay);
        check_hyper(where, "lr_scale", g.lr_scale);
        for (size_t i = 0; i < g.params.size(); ++i) {
            const Tensor& p = g.params[i];
            QBH_CHECK(p.defined(), where << " parameter " << i << " is undefined");
            QBH_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64,
                      where << " parameter " << i << " is " << describe(p)
                            << "; parameters must be f32 or f64");
            check_cpu(name_.c_str(), p);
            QBH_CHECK(p.is_contiguous(), where << " parameter " << i << " (" << describe(p)
                                               << ") is not contiguous; optimise the "
                                                  "contiguous tensor it is a view of");
            QBH_CHECK(seen.insert(p.impl()).second,
                      where << " parameter " << i << " (" << describe(p)
                            << ") appears more than once; each parameter belongs to one group");
        }
    }
    state_.resize(groups_.size());
    for (size_t gi = 0; gi < groups_.size(); ++gi) state_[gi].resize(groups_[gi].params.size());
}

void Optimizer::step() {
    NoGradGuard no_grad;
    const std::vector<std::string> buffers = buffer_names();
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
            Tensor& p = groups_[gi].params[i];
            Tensor g = p.grad();
            if (!g.defined()) continue;
            check_cpu(name_.c_str(), g);
            State& s = state_[gi][i];
            bool fresh = s.empty();
            if (fresh) {
                for (const std::string& b : buffers)
                    s[b] = b == "step" ? Tensor::zeros({}, DType::i64)
                                       : Tensor::zeros(p.shape(), p.dtype());
            }
            update(groups_[gi], p, contiguous_for_kernel(g), s, fresh);
            p.storage()->bump_version();
        }
    }
    ++steps_;
}

void Optimizer::zero_grad() {
    for (ParamGroup& g : groups_)
        for (Tensor& p : g.params) p.zero_grad();
}

void Optimizer::set_lr(double base_lr) {
    check_hyper(name_ + ".set_lr", "lr", base_lr);
    for (ParamGroup& g : groups_) g.lr = base_lr * g.lr_scale;
}

NamedTensors Optimizer::state_tensors() const {
    NamedTensors out{{"step", Tensor::scalar(static_cast<double>(steps_), DType::i64)}};
    const std::vector<std::string> buffers = buffer_names();
    for (size_t gi = 0; gi < state_.size(); ++gi) {
        for (size_t i = 0; i < state_[gi].size(); ++i) {
            const State& s = state_[gi][i];
            std::string prefix = "state." + std::to_string(gi) + "." + std::to_string(i) + ".";
            for (const std::string& b : buffers)
                if (s.count(b)) out.emplace_back(prefix + b, s.at(b));
        }
    }
    return out;
}

void Optimizer::load_state_tensors(const NamedTensors& state) {
    const std::string op = name_ + ".load_state_tensors";
    const std::vector<std::string> buffers = buffer_names();
    std::vector<std::vector<State>> loaded(groups_.size());
    for (size_t gi = 0; gi < groups_.size(); ++gi) loaded[gi].resize(groups_[gi].params.size());
    int64_t steps = -1;
    NoGradGuard no_grad;
    for (const auto& [name, t] : state) {
        QBH_CHECK(t.defined(), op << ": entry '" << name << "' is undefined");
        if (name == "step") {
            QBH_CHECK(steps < 0, op << ": 'step' appears twice");
            QBH_CHECK(t.dim() == 0 && t.dtype() == DType::i64 && t.item() >= 0,
                      op << ": 'step' must be a 0-d i64 tensor >= 0, got " << describe(t));
            steps = static_cast<int64_t>(t.item());
            continue;
        }
        size_t gi = 0, i = 0;
        std::string buf;
        bool known = parse_state_name(name, &gi, &i, &buf) &&
                     std::find(buffers.begin(), buffers.end(), buf) != buffers.end();
        QBH_CHECK(known, op << ": unknown entry '" << name
                            << "'; expected 'step' or 'state.<group>.<index>.<buffer>' with "
                               "buffers "
                            << join(buffers) << " (is this another optimiser's state?)");
        QBH_CHECK(gi < groups_.size() && i < groups_[gi].params.size(),
                  op << ": entry '" << name << "' names parameter " << i << " of group " << gi
                     << ", but this optimiser has "
                     << (gi < groups_.size() ? std::to_string(groups_[gi].params.size()) +
                                                   " parameters in that group"
                                             : std::to_string(groups_.size()) + " groups")
                     << " (the model or its groups differ from the checkpoint's)");
        const Tensor& p = groups_[gi].params[i];
        Shape shape = buf == "step" ? Shape{} : p.shape();
        DType dtype = buf == "step" ? DType::i64 : p.dtype();
        QBH_CHECK(t.shape() == shape && t.dtype() == dtype,
                  op << ": entry '" << name << "' is " << describe(t) << ", expected "
                     << dtype_name(dtype) << shape_str(shape) << " for parameter " << describe(p));
        QBH_CHECK(!loaded[gi][i].count(buf), op << ": entry '" << name << "' appears twice");
        loaded[gi][i][buf] = t.detach().to(p.device()).clone();
    }
    QBH_CHECK(steps >= 0, op << ": no 'step' entry; pass the full output of state_tensors()");
    for (size_t gi = 0; gi < loaded.size(); ++gi) {
        for (size_t i = 0; i < loaded[gi].size(); ++i) {
            const State& s = loaded[gi][i];
            QBH_CHECK(s.empty() || s.size() == buffers.size(),
                      op << ": the state of group " << gi << " parameter " << i
                         << " is incomplete: it needs " << join(buffers) << ", got " << s.size()
                         << " of them");
        }
    }
    state_ = std::move(loaded);
    steps_ = steps;
}

// ---- clipping ----

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
    QBH_CHECK(std::isfinite(max_norm) && max_norm > 0,
              "clip_grad_norm: max_norm must be a finite number > 0, got " << max_norm);
    NoGradGuard no_grad;
    std::vector<Tensor> grads;
    for (const Tensor& p : params) {
        QBH_CHECK(p.defined(), "clip_grad_norm: a parameter is undefined");
        Tensor g = p.grad();
        if (!g.defined()) continue;
        check_floating("clip_grad_norm", g);
        check_cpu("clip_grad_norm", g);
        grads.push_back(g);
    }
    double total2 = 0;
    for (const Tensor& g : grads) {
        Tensor c = contiguous_for_kernel(g);
        total2 += dispatch_float(c.dtype(), "clip_grad_norm", [&](auto tag) {
            using T = decltype(tag);
            return cpu::sum_squares(c.data<T>(), c.numel());
        });
    }
    double total = std::sqrt(total2);
    if (!std::isfinite(total)) return total;
    double coef = max_norm / (total + 1e-6);
    if (coef >= 1.0) return total;
    for (Tensor& g : grads) {
        if (!g.is_contiguous()) {
            mul_(g, coef);
            continue;
        }
        dispatch_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
            using T = decltype(tag);
            cpu::scale(g.data<T>(), g.numel(), coef);
        });
        g.storage()->bump_version();
    }
    return total;
}

}  // namespace qbh::optim
