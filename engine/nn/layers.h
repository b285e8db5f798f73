// Basic layers as PyTorch modules with the same parameter names and default initialisation:
// Linear, Conv2d, LayerNorm, BatchNorm1d/2d, the parameter-free ReLU, GELU, Identity and
// Dropout, and Sequential, which chains single-input modules. Models are built from these.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>

#include "engine/core/rng.h"
#include "engine/nn/module.h"
#include "engine/ops/elementwise.h"

namespace qbh::nn {

// y = x W^T + b; weight [out, in], bias [out]; both U(-1/sqrt(in), 1/sqrt(in)) as torch.
class Linear : public Module {
  public:
    Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true);
    std::string type_name() const override { return "Linear"; }
    std::string extra_repr() const override;
    Tensor forward(const Tensor& x) override;
    void reset_parameters(Generator& gen);

    int64_t in_features, out_features;
    Tensor weight, bias;  // bias undefined when bias = false
};

// 2-D convolution over NCHW; weight [out, in / groups, k, k], bias [out]; torch's init with
// fan_in = in / groups * k * k.
class Conv2d : public Module {
  public:
    Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Generator& gen,
           int64_t stride = 1, int64_t padding = 0, int64_t groups = 1, bool bias = true);
    std::string type_name() const override { return "Conv2d"; }
    std::string extra_repr() const override;
    Tensor forward(const Tensor& x) override;
    void reset_parameters(Generator& gen);

    int64_t in_channels, out_channels, kernel_size, stride, padding, groups;
    Tensor weight, bias;
};

// Normalises the last axis (size dim); weight ones, bias zeros when affine.
class LayerNorm : public Module {
  public:
    explicit LayerNorm(int64_t dim, double eps = 1e-5, bool affine = true);
    std::string type_name() const override { return "LayerNorm"; }
    std::string extra_repr() const override;
    Tensor forward(const Tensor& x) override;

    int64_t dim;
    double eps;
    Tensor weight, bias;
};

// Batch normalisation over channel axis 1 with running statistics (buffers running_mean 0,
// running_var 1, num_batches_tracked i64 0). Training normalises by batch statistics and
// updates the buffers; eval uses the buffers. affine = false has no weight/bias (the linear
// probe's BatchNorm). BatchNorm1d takes [N, C] or [N, C, L]; BatchNorm2d takes [N, C, H, W].
class BatchNorm : public Module {
  public:
    std::string extra_repr() const override;
    Tensor forward(const Tensor& x) override;

    int64_t num_features;
    double eps, momentum;
    Tensor weight, bias;
    Tensor running_mean, running_var, num_batches_tracked;

  protected:
    BatchNorm(int64_t num_features, double eps, double momentum, bool affine);
    virtual bool accepts_rank(int64_t rank) const = 0;
    virtual const char* expected_input() const = 0;
};

class BatchNorm1d : public BatchNorm {
  public:
    explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1,
                         bool affine = true)
        : BatchNorm(num_features, eps, momentum, affine) {}
    std::string type_name() const override { return "BatchNorm1d"; }

  protected:
    bool accepts_rank(int64_t rank) const override { return rank == 2 || rank == 3; }
    const char* expected_input() const override { return "[N, C] or [N, C, L]"; }
};

class BatchNorm2d : public BatchNorm {
  public:
    explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1,
                         bool affine = true)
        : BatchNorm(num_features, eps, momentum, affine) {}
    std::string type_name() const override { return "BatchNorm2d"; }

  protected:
    bool accepts_rank(int64_t rank) const override { return rank == 4; }
    const char* expected_input() const override { return "[N, C, H, W]"; }
};

class ReLU : public Module {
  public:
    std::string type_name() const override { return "ReLU"; }
    Tensor forward(const Tensor& x) override { return relu(x); }
};

class GELU : public Module {
  public:
    explicit GELU(GeluApprox approx = GeluApprox::none) : approx(approx) {}
    std::string type_name() const override { return "GELU"; }
    std::string extra_repr() const override;
    Tensor forward(const Tensor& x) override { return gelu(x, approx); }

    GeluApprox approx;
};

class Identity : public Module {
  public:
    std::string type_name() const override { return "Identity"; }
    Tensor forward(const Tensor& x) override { return x; }
};

// Inverted dropout in training, identity in eval. Draws from the generator given at
// construction, which must outlive the module.
class Dropout : public Module {
  public:
    Dropout(double p, Generator& gen);
    std::string type_name() const override { return "Dropout"; }
    std::string extra_repr() const override;
    Tensor forward(const Tensor& x) override;

    double p;

  private:
    Generator* gen_;
};

// Chains modules; children are named "0", "1", ... in order.
class Sequential : public Module {
  public:
    Sequential() = default;
    Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
    std::string type_name() const override { return "Sequential"; }
    Tensor forward(const Tensor& x) override;

    template <class M>
    std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
        auto m = register_module(std::to_string(size_), std::move(module));
        ++size_;
        return m;
    }
    int64_t size() const { return size_; }
    std::shared_ptr<Module> operator[](int64_t i) const;

  private:
    int64_t size_ = 0;
};

}  // namespace qbh::nn
