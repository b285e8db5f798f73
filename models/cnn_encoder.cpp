// The CNN encoder (encoders.h): a small torchvision-style ResNet whose last feature map is the
// token grid. It exists because QB-Heat, unlike MAE, needs no token dropping, so a CNN can be
// pre-trained on the visible quarter and its map extended by the heat op.
#include "engine/nn/init.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/view.h"
#include "models/encoders.h"

namespace qbh::models {

namespace {

std::shared_ptr<nn::Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride, Generator& gen) {
    return std::make_shared<nn::Conv2d>(in, out, 3, gen, stride, 1, 1, false);
}

// torchvision's BasicBlock: conv-bn-relu, conv-bn, + shortcut (1x1 strided conv + bn when the
// shape changes), relu.
class BasicBlock : public nn::Module {
  public:
    BasicBlock(int64_t in, int64_t out, int64_t stride, Generator& gen) {
        conv1 = register_module("conv1", conv3x3(in, out, stride, gen));
        bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(out));
        conv2 = register_module("conv2", conv3x3(out, out, 1, gen));
        bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out));
        if (stride != 1 || in != out) {
            downsample = register_module("downsample", std::make_shared<nn::Sequential>());
            downsample->push_back(
                std::make_shared<nn::Conv2d>(in, out, 1, gen, stride, 0, 1, false));
            downsample->push_back(std::make_shared<nn::BatchNorm2d>(out));
        }
    }
    std::string type_name() const override { return "BasicBlock"; }
    Tensor forward(const Tensor& x) override {
        Tensor out = relu(bn1->forward(conv1->forward(x)));
        out = bn2->forward(conv2->forward(out));
        return relu(out + (downsample ? downsample->forward(x) : x));
    }

    std::shared_ptr<nn::Conv2d> conv1, conv2;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
    std::shared_ptr<nn::Sequential> downsample;
};

EncoderConfig as_cnn(EncoderConfig config) {
    config.kind = "cnn";
    validate(config);
    return config;
}

}  // namespace

CnnEncoder::CnnEncoder(const EncoderConfig& config, Generator& gen) : config_(as_cnn(config)) {
    const int64_t p = config_.patch_size, d = config_.width;
    int64_t stages = 0;
    for (int64_t s = p; s > 1; s /= 2) ++stages;
    const bool downsampling = stages > 0;
    if (!downsampling) stages = 1;  // p = 1: one stride-1 stage at width d

    int64_t channels = d / p;  // the stem; each downsampling stage doubles it, ending at d
    conv1 = register_module("conv1", conv3x3(config_.in_channels, channels, 1, gen));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(channels));
    for (int64_t s = 0; s < stages; ++s) {
        // Even split; the remainder goes to the last (cheapest, lowest-resolution) stages.
        const int64_t count = config_.depth / stages + (s >= stages - config_.depth % stages);
        const int64_t out = downsampling ? channels * 2 : channels;
        auto layer =
            register_module("layer" + std::to_string(s + 1), std::make_shared<nn::Sequential>());
        for (int64_t b = 0; b < count; ++b)
            layer->push_back(std::make_shared<BasicBlock>(b == 0 ? channels : out, out,
                                                          b == 0 && downsampling ? 2 : 1, gen));
        layers.push_back(layer);
        channels = out;
    }

    // torchvision ResNet init; BatchNorm already starts at weight 1, bias 0.
    for (auto& [name, module] : named_modules())
        if (auto* conv = dynamic_cast<nn::Conv2d*>(module))
            nn::init::kaiming_normal_(conv->weight, gen, 0.0, nn::init::FanMode::fan_out,
                                      nn::init::Nonlinearity::relu);
}

Tensor CnnEncoder::forward(const Tensor& images) {
    const int64_t p = config_.patch_size;
    QBH_CHECK(images.defined() && images.dim() == 4 && images.size(1) == config_.in_channels,
              "CnnEncoder: images " << (images.defined() ? describe(images) : "undefined")
                                    << " must be [N, " << config_.in_channels << ", H, W]");
    QBH_CHECK(images.size(2) > 0 && images.size(3) > 0 && images.size(2) % p == 0 &&
                  images.size(3) % p == 0,
              "CnnEncoder: image size " << images.size(2) << "x" << images.size(3)
                                        << " is not a multiple of the stride " << p);
    Tensor x = relu(bn1->forward(conv1->forward(images)));
    for (auto& layer : layers) x = layer->forward(x);
    return x.permute({0, 2, 3, 1}).contiguous();  // NHWC, as the heat op wants
}

}  // namespace qbh::models
