// The engine's first demo: a small MLP learns a synthetic 2-D regression target
// y = sin(3 x0) cos(2 x1) with AdamW, printing its loss as it falls. Everything it uses
// (tensors, autograd, nn, optim) is the engine's own; the QB-Heat demo replaces it later.
//   usage: qbheat_demo [steps=300] [seed=0]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/nn/nn.h"
#include "engine/optim/optim.h"
#include "engine/qbh.h"

using namespace qbh;

namespace {

// The target function y = sin(3 x0) cos(2 x1), as an [n, 1] tensor.
Tensor sin_cos_target(const Tensor& x) {
    std::vector<double> v = x.to_vector(), y(x.size(0));
    for (int64_t i = 0; i < x.size(0); ++i)
        y[i] = std::sin(3 * v[2 * i]) * std::cos(2 * v[2 * i + 1]);
    return Tensor::from_vector(y, {x.size(0), 1}, x.dtype());
}

// n points uniform in [-1, 1]^2 and their targets.
std::pair<Tensor, Tensor> make_data(int64_t n, Generator& gen) {
    Tensor x = rand({n, 2}, gen, DType::f32, -1.0, 1.0);
    Tensor y = sin_cos_target(x);
    return {x, y};
}

}  // namespace

int main(int argc, char** argv) {
    const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
    const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0;
    if (steps <= 0) {
        std::fprintf(stderr, "usage: qbheat_demo [steps > 0] [seed]\n");
        return 2;
    }
    Generator gen(seed);
    auto [x_train, y_train] = make_data(512, gen);
    auto [x_test, y_test] = make_data(256, gen);

    auto model =
        std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
            std::make_shared<nn::Linear>(2, 64, gen), std::make_shared<nn::GELU>(),
            std::make_shared<nn::Linear>(64, 64, gen), std::make_shared<nn::GELU>(),
            std::make_shared<nn::Linear>(64, 1, gen)});
    std::printf("model (%lld parameters):\n%s\n", static_cast<long long>(model->num_parameters()),
                model->to_string().c_str());

    optim::AdamWOptions options;
    options.lr = 3e-3;
    optim::AdamW opt(optim::decay_groups(model->named_parameters(), 1e-4), options);
    optim::WarmupCosine schedule(options.lr, steps / 10, steps);

    auto test_loss = [&] {
        NoGradGuard no_grad;
        return mse_loss(model->forward(x_test), y_test).item();
    };
    const double first = test_loss();
    std::printf("step %4d  test mse %.5f\n", 0, first);
    auto start = std::chrono::steady_clock::now();
    for (int step = 1; step <= steps; ++step) {
        opt.set_lr(schedule.lr_at(step - 1));
        Tensor loss = mse_loss(model->forward(x_train), y_train);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step % (steps / 10 > 0 ? steps / 10 : 1) == 0 || step == steps)
            std::printf("step %4d  train mse %.5f  test mse %.5f  lr %.2e\n", step, loss.item(),
                        test_loss(), schedule.lr_at(step - 1));
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double last = test_loss();
    std::printf("test mse fell from %.5f to %.5f (%.1fx lower) in %d steps, %.2f s\n", first, last,
                first / last, steps, seconds);
    return last < first ? 0 : 1;
}
