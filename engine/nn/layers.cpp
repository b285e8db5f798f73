// Basic layers (see layers.h): argument checks naming the layer and the shapes, torch's default
// initialisation, and forwards that call the ops (linear, conv2d, layer_norm, batch_norm).
#include "engine/nn/layers.h"

#include <cmath>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/nn/init.h"
#include "engine/ops/conv.h"
#include "engine/ops/matmul.h"
#include "engine/ops/norm.h"
#include "engine/ops/random.h"
#include "engine/ops/view.h"

namespace qbh::nn {

namespace {

const char* py_bool(bool b) {
    return b ? "True" : "False";
}

// torch's reset_parameters for Linear and Conv: kaiming_uniform(a = sqrt(5)) on the weight,
// which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
void torch_default_init(Tensor& weight, Tensor& bias, Generator& gen) {
    init::kaiming_uniform_(weight, gen, std::sqrt(5.0));
    if (bias.defined()) {
        const int64_t fan_in = init::fan_in_and_fan_out(weight).first;
        const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
        init::uniform_(bias, gen, -bound, bound);
    }
}

}  // namespace

// ---- Linear

Linear::Linear(int64_t in_features, int64_t out_features, Generator& gen, bool with_bias)
    : in_features(in_features), out_features(out_features) {
    QBH_CHECK(in_features > 0 && out_features > 0,
              "Linear: in_features and out_features must be positive, got "
                  << in_features << " and " << out_features);
    weight = register_parameter("weight", Tensor::empty({out_features, in_features}));
    bias = register_parameter("bias", with_bias ? Tensor::empty({out_features}) : Tensor());
    reset_parameters(gen);
}

void Linear::reset_parameters(Generator& gen) {
    torch_default_init(weight, bias, gen);
}

std::string Linear::extra_repr() const {
    std::ostringstream os;
    os << "in_features=" << in_features << ", out_features=" << out_features
       << ", bias=" << py_bool(bias.defined());
    return os.str();
}

Tensor Linear::forward(const Tensor& x) {
    QBH_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == in_features,
              "Linear: input " << (x.defined() ? describe(x) : "undefined")
                               << " must have last axis of size in_features=" << in_features);
    return linear(x, weight, bias);
}

// ---- Conv2d

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Generator& gen,
               int64_t stride, int64_t padding, int64_t groups, bool with_bias)
    : in_channels(in_channels),
      out_channels(out_channels),
      kernel_size(kernel_size),
      stride(stride),
      padding(padding),
      groups(groups) {
    QBH_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0 && stride > 0 &&
                  padding >= 0 && groups > 0,
              "Conv2d: need positive channels, kernel_size, stride, groups and padding >= 0, "
              "got in "
                  << in_channels << ", out " << out_channels << ", kernel " << kernel_size
                  << ", stride " << stride << ", padding " << padding << ", groups " << groups);
    QBH_CHECK(in_channels % groups == 0 && out_channels % groups == 0,
              "Conv2d: in_channels " << in_channels << " and out_channels " << out_channels
                                     << " must both be divisible by groups " << groups);
    weight = register_parameter(
        "weight", Tensor::empty({out_channels, in_channels / groups, kernel_size, kernel_size}));
    bias = register_parameter("bias", with_bias ? Tensor::empty({out_channels}) : Tensor());
    reset_parameters(gen);
}

void Conv2d::reset_parameters(Generator& gen) {
    torch_default_init(weight, bias, gen);
}

std::string Conv2d::extra_repr() const {
    std::ostringstream os;
    os << in_channels << ", " << out_channels << ", kernel_size=(" << kernel_size << ", "
       << kernel_size << "), stride=(" << stride << ", " << stride << ")";
    if (padding != 0) os << ", padding=(" << padding << ", " << padding << ")";
    if (groups != 1) os << ", groups=" << groups;
    if (!bias.defined()) os << ", bias=False";
    return os.str();
}

Tensor Conv2d::forward(const Tensor& x) {
    QBH_CHECK(x.defined() && x.dim() == 4 && x.size(1) == in_channels,
              "Conv2d: input " << (x.defined() ? describe(x) : "undefined")
                               << " must be [N, C, H, W] with C = in_channels = " << in_channels);
    Conv2dOptions options;
    options.stride = {stride, stride};
    options.padding = {padding, padding};
    options.groups = groups;
    return conv2d(x, weight, bias, options);
}

// ---- LayerNorm

LayerNorm::LayerNorm(int64_t dim, double eps, bool affine) : dim(dim), eps(eps) {
    QBH_CHECK(dim > 0 && eps >= 0,
              "LayerNorm: need dim > 0 and eps >= 0, got dim " << dim << ", eps " << eps);
    weight = register_parameter("weight", affine ? Tensor::ones({dim}) : Tensor());
    bias = register_parameter("bias", affine ? Tensor::zeros({dim}) : Tensor());
}

std::string LayerNorm::extra_repr() const {
    return "(" + std::to_string(dim) + ",), eps=" + python_float(eps) +
           ", elementwise_affine=" + py_bool(weight.defined());
}

Tensor LayerNorm::forward(const Tensor& x) {
    QBH_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == dim,
              "LayerNorm: input " << (x.defined() ? describe(x) : "undefined")
                                  << " must have last axis of size dim=" << dim);
    return layer_norm(x, weight, bias, eps);
}

// ---- BatchNorm

BatchNorm::BatchNorm(int64_t num_features, double eps, double momentum, bool affine)
    : num_features(num_features), eps(eps), momentum(momentum) {
    QBH_CHECK(num_features > 0 && eps >= 0 && momentum >= 0 && momentum <= 1,
              "BatchNorm: need num_features > 0, eps >= 0 and momentum in [0, 1], got "
                  << num_features << ", eps " << eps << ", momentum " << momentum);
    weight = register_parameter("weight", affine ? Tensor::ones({num_features}) : Tensor());
    bias = register_parameter("bias", affine ? Tensor::zeros({num_features}) : Tensor());
    running_mean = register_buffer("running_mean", Tensor::zeros({num_features}));
    running_var = register_buffer("running_var", Tensor::ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
}

std::string BatchNorm::extra_repr() const {
    std::ostringstream os;
    os << num_features << ", eps=" << python_float(eps) << ", momentum=" << python_float(momentum)
       << ", affine=" << py_bool(weight.defined()) << ", track_running_stats=True";
    return os.str();
}

Tensor BatchNorm::forward(const Tensor& x) {
    QBH_CHECK(x.defined() && accepts_rank(x.dim()) && x.size(1) == num_features,
              type_name() << ": input " << (x.defined() ? describe(x) : "undefined") << " must be "
                          << expected_input() << " with C = num_features = " << num_features);
    const bool training = is_training();
    if (training) {
        QBH_CHECK(x.numel() / num_features > 1,
                  type_name() << ": training needs more than one value per channel, got input "
                              << describe(x));
        NoGradGuard no_grad;
        fill_(num_batches_tracked, num_batches_tracked.item() + 1);
    }
    return batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps);
}

// ---- activations and dropout

std::string GELU::extra_repr() const {
    return approx == GeluApprox::none ? "approximate='none'" : "approximate='tanh'";
}

Dropout::Dropout(double p, Generator& gen) : p(p), gen_(&gen) {
    QBH_CHECK(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got " << p);
}

std::string Dropout::extra_repr() const {
    return "p=" + python_float(p) + ", inplace=False";
}

Tensor Dropout::forward(const Tensor& x) {
    return dropout(x, p, is_training(), *gen_);
}

// ---- Sequential

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
    for (const auto& m : modules) push_back(m);
}

std::shared_ptr<Module> Sequential::operator[](int64_t i) const {
    QBH_CHECK(i >= 0 && i < size_,
              "Sequential: index " << i << " out of range for " << size_ << " modules");
    return named_children()[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    for (auto& [name, child] : named_children()) y = child->forward(y);
    return y;
}

}  // namespace qbh::nn
