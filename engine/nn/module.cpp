// Module (see module.h): registration, recursive naming, state_dict loading with full error
// reports, train/eval propagation, in-place dtype/device conversion and the repr tree.
#include "engine/nn/module.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/ops/view.h"

namespace qbh::nn {

Tensor Module::forward(const Tensor& x) {
    QBH_FAIL(type_name() << ": this module has no single-input forward (called with " << describe(x)
                         << "); call its own forward overload");
}

void Module::check_new_name(const std::string& name, const char* what) const {
    QBH_CHECK(!name.empty() && name.find('.') == std::string::npos,
              type_name() << ": invalid " << what << " name '" << name
                          << "' (must be non-empty and contain no '.')");
    bool clash = false;
    for (const auto& [child, module] : children_) clash = clash || child == name;
    for (const Entry& e : parameters_) clash = clash || e.name == name;
    for (const Entry& e : buffers_) clash = clash || e.name == name;
    QBH_CHECK(!clash, type_name() << ": cannot register " << what << " '" << name
                                  << "': the name is already taken");
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
    check_new_name(name, "parameter");
    if (t.defined()) {
        QBH_CHECK(t.is_leaf(), type_name() << ": parameter '" << name << "' " << describe(t)
                                           << " has autograd history; register a leaf");
        t.set_requires_grad(true);
    }
    parameters_.push_back({name, t});
    return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
    check_new_name(name, "buffer");
    buffers_.push_back({name, t});
    return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
    QBH_CHECK(module != nullptr, type_name() << ": child module '" << name << "' is null");
    check_new_name(name, "module");
    children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool params, bool buffers,
                     NamedTensors& out) const {
    if (params)
        for (const Entry& e : parameters_)
            if (e.tensor.defined()) out.emplace_back(prefix + e.name, e.tensor);
    if (buffers)
        for (const Entry& e : buffers_)
            if (e.tensor.defined()) out.emplace_back(prefix + e.name, e.tensor);
    for (const auto& [name, child] : children_)
        child->collect(prefix + name + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
    NamedTensors out;
    collect("", true, false, out);
    return out;
}

NamedTensors Module::named_buffers() const {
    NamedTensors out;
    collect("", false, true, out);
    return out;
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_parameters()) out.push_back(t);
    return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
    return children_;
}

void Module::collect_modules(const std::string& prefix,
                             std::vector<std::pair<std::string, Module*>>& out) {
    out.emplace_back(prefix, this);
    for (const auto& [name, child] : children_)
        child->collect_modules(prefix.empty() ? name : prefix + "." + name, out);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
    std::vector<std::pair<std::string, Module*>> out;
    collect_modules("", out);
    return out;
}

Tensor Module::find(const std::string& dotted_name) const {
    std::ostringstream known;
    for (const auto& [name, t] : state_dict()) {
        if (name == dotted_name) return t;
        known << " " << name;
    }
    QBH_FAIL(type_name() << ": no parameter or buffer named '" << dotted_name
                         << "'; known names:" << known.str());
}

int64_t Module::num_parameters() const {
    int64_t n = 0;
    for (const Tensor& p : parameters()) n += p.numel();
    return n;
}

NamedTensors Module::state_dict() const {
    NamedTensors out;
    collect("", true, true, out);
    return out;
}

namespace {

std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
    return "[" + s + "]";
}

}  // namespace

LoadResult Module::load_state_dict(const NamedTensors& state, bool strict) {
    const char* op = "load_state_dict";
    std::map<std::string, Tensor> given;
    for (const auto& [name, t] : state) {
        QBH_CHECK(given.emplace(name, t).second,
                  op << " (" << type_name() << "): key '" << name << "' appears twice");
        QBH_CHECK(t.defined(), op << " (" << type_name() << "): the value of key '" << name
                                  << "' is an undefined tensor");
    }
    NamedTensors own = state_dict();
    LoadResult result;
    std::vector<std::string> mismatches;
    std::map<std::string, bool> known;
    for (const auto& [name, dst] : own) {
        known[name] = true;
        auto it = given.find(name);
        if (it == given.end()) {
            result.missing_keys.push_back(name);
            continue;
        }
        const Tensor& src = it->second;
        if (src.shape() != dst.shape() || src.dtype() != dst.dtype())
            mismatches.push_back(name + ": expected " + dtype_name(dst.dtype()) +
                                 shape_str(dst.shape()) + ", got " + dtype_name(src.dtype()) +
                                 shape_str(src.shape()));
    }
    for (const auto& [name, t] : state)
        if (!known.count(name)) result.unexpected_keys.push_back(name);

    const bool key_error =
        strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty());
    if (key_error || !mismatches.empty()) {
        std::ostringstream os;
        os << op << " (" << type_name() << "): the state does not fit the module";
        if (!result.missing_keys.empty()) os << "; missing keys " << join(result.missing_keys);
        if (!result.unexpected_keys.empty())
            os << "; unexpected keys " << join(result.unexpected_keys);
        if (!mismatches.empty()) os << "; shape/dtype mismatch " << join(mismatches);
        if (!key_error) os << " (strict=false skips only missing/unexpected keys)";
        throw Error(os.str());
    }
    NoGradGuard no_grad;
    for (auto& [name, dst] : own) {
        auto it = given.find(name);
        if (it == given.end()) continue;
        const Tensor& src = it->second;
        copy_(dst, src.device() == dst.device() ? src : to_device(src, dst.device()));
    }
    return result;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
    for (Tensor& p : parameters()) p.zero_grad();
}

namespace {

// Points t's impl at `converted`'s data, so every handle to t sees the new dtype/device.
void replace_data(const Tensor& t, const Tensor& converted) {
    TensorImpl* impl = t.impl();
    impl->storage = converted.storage();
    impl->offset = converted.offset();
    impl->strides = converted.strides();
    impl->dtype = converted.dtype();
    impl->grad.reset();
}

}  // namespace

void Module::to(DType dtype) {
    QBH_CHECK(is_floating(dtype),
              type_name() << ".to: target dtype must be floating, got " << dtype_name(dtype));
    NoGradGuard no_grad;
    for (const auto& [name, t] : state_dict())
        if (is_floating(t.dtype()) && t.dtype() != dtype) replace_data(t, to_dtype(t, dtype));
}

void Module::to(Device device) {
    NoGradGuard no_grad;
    for (const auto& [name, t] : state_dict())
        if (t.device() != device) replace_data(t, to_device(t, device));
}

std::string Module::to_string() const {
    std::vector<std::string> lines;
    std::istringstream extra(extra_repr());
    size_t extra_count = 0;
    for (std::string line; std::getline(extra, line);) lines.push_back(line), ++extra_count;
    for (const auto& [name, child] : children_) {
        std::string s = child->to_string(), indented;
        for (char c : s) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
        lines.push_back("(" + name + "): " + indented);
    }
    std::string out = type_name() + "(";
    if (extra_count == 1 && children_.empty()) {
        out += lines[0];
    } else if (!lines.empty()) {
        for (const std::string& l : lines) out += "\n  " + l;
        out += "\n";
    }
    return out + ")";
}

std::string python_float(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    // The fewest significant digits that read back exactly, as Python's repr.
    char buf[64];
    int digits = 1;
    for (; digits < 17; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
    const int exponent = std::atoi(std::strchr(buf, 'e') + 1);
    // Scientific as C writes it (1e-06, 1.5e+16, two exponent digits like Python), else fixed
    // with at least one decimal (4.0, 0.1).
    if (exponent < -4 || exponent >= 16) return buf;
    std::snprintf(buf, sizeof buf, "%.*f", std::max(digits - 1 - exponent, 1), v);
    return buf;
}

}  // namespace qbh::nn
