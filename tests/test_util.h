// Helpers shared by the tests: random tensors, non-contiguous copies, closeness checks, the
// generic finite-difference gradient check (gradcheck) and the CUDA skip macro.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/qbh.h"

namespace qbh::test {

// Normal(0, 1) values in a fresh tensor (f64 by default: gradient checks need it).
Tensor randn(const Shape& shape, uint64_t seed, DType dtype = DType::f64);
// Uniform values in [low, high).
Tensor uniform(const Shape& shape, uint64_t seed, double low, double high,
               DType dtype = DType::f64);

// The same values as `t` in a non-contiguous layout: every axis is read with stride 2 from a
// larger buffer, so kernels that ignore strides fail. A leaf with no history.
Tensor noncontiguous(const Tensor& t);

// Largest |a - b| and whether every element meets |a - b| <= atol + rtol |b|.
struct Closeness {
    bool ok = true;
    double max_abs_diff = 0.0;
    std::string message;
};
Closeness compare(const Tensor& actual, const Tensor& expected, double atol, double rtol);

// CHECK that two tensors have the same shape and close values, with a readable report.
#define QBH_CHECK_CLOSE(actual, expected, atol, rtol)                             \
    do {                                                                          \
        auto qbh_c_ = ::qbh::test::compare((actual), (expected), (atol), (rtol)); \
        INFO(qbh_c_.message);                                                     \
        CHECK(qbh_c_.ok);                                                         \
    } while (0)

// Gradient check by central finite differences in f64. `f` maps the inputs to any tensor; the
// checked scalar is sum(f(inputs) * w) with a fixed random w, so every output element counts.
// Only inputs with requires_grad are checked. Inputs must be f64 leaves.
struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-6;
    double rtol = 1e-5;
};
Closeness gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                    const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

// QBH_GRADCHECK(f, {x, w}) or QBH_GRADCHECK(f, {x}, options): arguments as for gradcheck.
#define QBH_GRADCHECK(...)                                 \
    do {                                                   \
        auto qbh_g_ = ::qbh::test::gradcheck(__VA_ARGS__); \
        INFO(qbh_g_.message);                              \
        CHECK(qbh_g_.ok);                                  \
    } while (0)

// Ends a CUDA test on a machine without a device, saying so visibly.
#define QBH_REQUIRE_CUDA()                                                       \
    do {                                                                         \
        if (!::qbh::cuda_available()) {                                          \
            WARN("SKIPPED: no CUDA device");                                     \
            std::printf("SKIPPED: no CUDA device (%s)\n",                        \
                        Catch::getResultCapture().getCurrentTestName().c_str()); \
            return;                                                              \
        }                                                                        \
    } while (0)

// Path of a golden file written by tools/make_golden.py.
std::string golden_path(const std::string& name);

// A fresh empty folder under the system temp folder for one test case (unique per process and
// call), removed with everything in it at scope exit.
struct TempDir {
    std::filesystem::path path;
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string str() const { return path.string(); }
    std::string file(const std::string& name) const;  // path / name
    std::string operator/(const std::string& name) const { return file(name); }
    // Writes `text` to path / name and returns that path.
    std::string write(const std::string& name, const std::string& text) const;
    // Sorted names of the entries (to see that no temporary file was left behind).
    std::vector<std::string> listing() const;
};

}  // namespace qbh::test
