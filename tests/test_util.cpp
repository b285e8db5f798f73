// Test helpers (see test_util.h).
#include "tests/test_util.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qbh::test {

Tensor randn(const Shape& shape, uint64_t seed, DType dtype) {
    Generator gen(seed);
    return qbh::randn(shape, gen, dtype);
}

Tensor uniform(const Shape& shape, uint64_t seed, double low, double high, DType dtype) {
    Generator gen(seed);
    return qbh::rand(shape, gen, dtype, low, high);
}

Tensor noncontiguous(const Tensor& t) {
    if (t.dim() == 0 || t.numel() == 0) return t.detach().clone();
    Shape big = t.shape();
    for (auto& s : big) s *= 2;
    Tensor buffer = Tensor::full(big, std::nan(""), t.dtype(), t.device());
    Tensor v = buffer;
    for (int64_t axis = 0; axis < t.dim(); ++axis) v = v.slice(axis, 0, big[axis], 2);
    NoGradGuard no_grad;
    copy_(v, t);
    return make_view(buffer, v.shape(), v.strides(), v.offset());
}

Closeness compare(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
    Closeness c;
    std::ostringstream os;
    if (!actual.defined() || !expected.defined()) {
        c.ok = false;
        c.message = "one of the tensors is undefined";
        return c;
    }
    if (actual.shape() != expected.shape()) {
        c.ok = false;
        os << "shape " << shape_str(actual.shape()) << " != expected "
           << shape_str(expected.shape());
        c.message = os.str();
        return c;
    }
    std::vector<double> a = actual.to_vector(), e = expected.to_vector();
    int64_t worst = -1;
    double worst_excess = -1.0;
    for (size_t i = 0; i < a.size(); ++i) {
        double d = std::abs(a[i] - e[i]);
        bool bad = !(d <= atol + rtol * std::abs(e[i])) && !(std::isnan(a[i]) && std::isnan(e[i]));
        if (d > c.max_abs_diff || std::isnan(d)) c.max_abs_diff = d;
        double excess = std::isnan(d) ? 1e300 : d - atol - rtol * std::abs(e[i]);
        if (bad) c.ok = false;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = static_cast<int64_t>(i);
        }
    }
    os << "max |diff| " << c.max_abs_diff << " (atol " << atol << ", rtol " << rtol << ")";
    if (worst >= 0)
        os << "; worst at flat index " << worst << ": " << a[worst] << " vs expected " << e[worst];
    c.message = os.str();
    return c;
}

Closeness gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                    const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    for (const Tensor& t : inputs) {
        QBH_CHECK(!t.requires_grad() || t.dtype() == DType::f64,
                  "gradcheck: inputs must be f64, got " << describe(t));
    }
    // Fixed random weights make the scalar depend on every output element.
    Tensor probe_out;
    {
        NoGradGuard no_grad;
        probe_out = f(inputs);
    }
    Tensor w = randn(probe_out.shape(), 12345, DType::f64);
    auto scalar = [&](const std::vector<Tensor>& in) { return qbh::sum(f(in) * w); };

    for (const Tensor& t : inputs)
        if (t.requires_grad()) Tensor(t).zero_grad();
    scalar(inputs).backward();

    Closeness total;
    std::ostringstream report;
    for (size_t k = 0; k < inputs.size(); ++k) {
        const Tensor& x = inputs[k];
        if (!x.requires_grad()) continue;
        Tensor analytic = x.grad().defined() ? x.grad() : Tensor::zeros_like(x);
        std::vector<double> numeric(x.numel());
        for (int64_t i = 0; i < x.numel(); ++i) {
            // Locate element i (row-major) inside the possibly strided tensor.
            int64_t off = x.offset(), rem = i;
            for (int64_t d = x.dim() - 1; d >= 0; --d) {
                off += (rem % x.shape()[d]) * x.strides()[d];
                rem /= x.shape()[d];
            }
            double* p = static_cast<double*>(x.storage()->data()) + off;
            const double orig = *p;
            NoGradGuard no_grad;
            *p = orig + options.eps;
            double plus = scalar(inputs).item();
            *p = orig - options.eps;
            double minus = scalar(inputs).item();
            *p = orig;
            numeric[i] = (plus - minus) / (2 * options.eps);
        }
        Tensor numeric_t = Tensor::from_vector(numeric, x.shape(), DType::f64);
        Closeness c = compare(analytic, numeric_t, options.atol, options.rtol);
        report << "input " << k << " " << describe(x) << ": " << c.message << "\n";
        if (!c.ok) total.ok = false;
        total.max_abs_diff = std::max(total.max_abs_diff, c.max_abs_diff);
    }
    total.message = report.str();
    return total;
}

std::string golden_path(const std::string& name) {
    return std::string(QBH_GOLDEN_DIR) + "/" + name;
}

TempDir::TempDir() {
    static std::atomic<int> counter{0};
    namespace fs = std::filesystem;
    fs::path p = fs::temp_directory_path() /
                 ("qbh_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(p);
    fs::create_directories(p);
    path = p;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

std::string TempDir::file(const std::string& name) const {
    return (path / name).string();
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
    std::string p = file(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
}

std::vector<std::string> TempDir::listing() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace qbh::test
