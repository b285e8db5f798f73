// Google Benchmark timings of qbheat's CPU ops (GEMM, conv2d, layer_norm, attention, heat) on the
// shapes of docs/benchmarks.md. tools/bench/bench_ops_torch.py times the same cases in PyTorch
// under the same names; tools/bench/compare.py runs both and prints the comparison table.
//
//   OMP_NUM_THREADS=2 ./build/qbh_bench_cpu --benchmark_repetitions=10
//       --benchmark_report_aggregates_only=true      (one command line)
//
// Each case is forward only ("/fwd") or forward + backward ("/fwdbwd": out = op(inputs),
// out.backward(fixed random dL/dout), then every leaf's .grad dropped, as PyTorch's side does
// with `.grad = None`). Times are wall-clock: the ops run on OpenMP threads, so the main
// thread's CPU time would understate them.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/qbh.h"

namespace {

using namespace qbh;

// A case: leaf inputs made once, and the op applied to them.
struct Case {
    std::vector<Tensor> inputs;
    std::function<Tensor(const std::vector<Tensor>&)> op;
};

// Normal(0, scale^2) f32 values; every case draws from its own seed so runs are repeatable.
Tensor normal(const Shape& shape, uint64_t seed, double scale = 1.0) {
    Generator gen(seed);
    return randn(shape, gen, DType::f32, 0.0, scale);
}

void run_forward(benchmark::State& state, const Case& c) {
    for (auto _ : state) {
        Tensor out = c.op(c.inputs);
        benchmark::DoNotOptimize(out.raw_data());
    }
}

void run_forward_backward(benchmark::State& state, Case c) {
    for (Tensor& t : c.inputs) t.set_requires_grad(true);
    // dL/dout is drawn once (its shape from one untimed forward), outside the timed loop.
    Tensor grad_out = normal(c.op(c.inputs).detach().shape(), 99);
    for (auto _ : state) {
        Tensor out = c.op(c.inputs);
        out.backward(grad_out);
        for (Tensor& t : c.inputs) t.zero_grad();
    }
}

// Registers name + "/fwd" and name + "/fwdbwd" (when `backward`); `flop` (multiply-adds count 2)
// per forward becomes a counter that compare.py turns into GFLOP/s.
void add(const std::string& name, std::function<Case()> make, bool backward, double flop = 0) {
    auto configure = [](benchmark::internal::Benchmark* b) {
        b->UseRealTime()->Unit(benchmark::kMicrosecond)->MinWarmUpTime(0.2);
    };
    auto fwd = benchmark::RegisterBenchmark((name + "/fwd").c_str(),
                                            [make, flop](benchmark::State& state) {
                                                Case c = make();
                                                run_forward(state, c);
                                                if (flop > 0) state.counters["flop"] = flop;
                                            });
    configure(fwd);
    if (!backward) return;
    auto both = benchmark::RegisterBenchmark(
        (name + "/fwdbwd").c_str(),
        [make](benchmark::State& state) { run_forward_backward(state, make()); });
    configure(both);
}

void add_gemm() {
    for (int64_t n : {256, 512, 1024}) {
        add(
            "gemm/" + std::to_string(n),
            [n] {
                return Case{{normal({n, n}, 1), normal({n, n}, 2)},
                            [](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); }};
            },
            false, 2.0 * n * n * n);
    }
}

// x [n, c_in, hw, hw], weight [c_out, c_in, k, k], bias [c_out]; square stride and padding.
void add_conv(const std::string& name, int64_t n, int64_t c_in, int64_t hw, int64_t c_out,
              int64_t k, int64_t stride, int64_t pad) {
    const int64_t out_hw = (hw + 2 * pad - k) / stride + 1;
    const double flop = 2.0 * n * c_out * out_hw * out_hw * c_in * k * k;
    const double w_scale = 1.0 / std::sqrt(double(c_in * k * k));
    add(
        name,
        [=] {
            Conv2dOptions o;
            o.stride = {stride, stride};
            o.padding = {pad, pad};
            return Case{{normal({n, c_in, hw, hw}, 3), normal({c_out, c_in, k, k}, 4, w_scale),
                         normal({c_out}, 5, 0.1)},
                        [o](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], o); }};
        },
        true, flop);
}
void add_convs() {
    add_conv("conv2d/3x3_64to64_n32_32x32", 32, 64, 32, 64, 3, 1, 1);
    add_conv("conv2d/patch4_1to192_n64_32x32", 64, 1, 32, 192, 4, 4, 0);
}

void add_layer_norms() {
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{4096, 384}, {65536, 64}}) {
        add(
            "layer_norm/" + std::to_string(rows) + "x" + std::to_string(cols),
            [rows, cols] {
                return Case{{normal({rows, cols}, 6), normal({cols}, 7), normal({cols}, 8)},
                            [](const std::vector<Tensor>& t) {
                                return layer_norm(t[0], t[1], t[2], 1e-5);
                            }};
            },
            true);
    }
}

void add_attention() {
    add(
        "attention/b32_h6_l64_d64",
        [] {
            const Shape s{32, 6, 64, 64};
            return Case{{normal(s, 9), normal(s, 10), normal(s, 11)},
                        [](const std::vector<Tensor>& t) {
                            return scaled_dot_product_attention(t[0], t[1], t[2]);
                        }};
        },
        true);
}

// Cell mode, top-left corner, norm off (the defaults); A and B small so powers stay tame. The
// flop count is that of the step GEMMs: w steps over the n*h visible rows, then h steps over
// n*2w rows, each a [rows, d] x [d, d] product: 6 n h w d^2.
void add_heat(int64_t n, int64_t hw, int64_t d) {
    add(
        "heat_cell/n" + std::to_string(n) + "_" + std::to_string(hw) + "x" + std::to_string(hw) +
            "_d" + std::to_string(d),
        [=] {
            return Case{
                {normal({n, hw, hw, d}, 12), normal({d, d}, 13, 0.02), normal({d, d}, 14, 0.02)},
                [](const std::vector<Tensor>& t) {
                    return heat_propagate(t[0], t[1], t[2], HeatOptions{});
                }};
        },
        true, 6.0 * n * hw * hw * d * d);
}
void add_heats() {
    add_heat(64, 4, 192);
    add_heat(16, 7, 384);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
    add_gemm();
    add_convs();
    add_layer_norms();
    add_attention();
    add_heats();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
