// Collation: HWC images -> CHW float tensors, and a list of examples -> one [B, C, H, W] batch.
// The HWC -> CHW transpose and the u8 -> f32 scaling happen in one pass over each image.
#include "data/collate.h"

#include <algorithm>

#include "engine/core/error.h"

namespace qbh::data {
namespace {

// Writes `image` as planar CHW floats into `out` (C*H*W values).
void write_chw(const Image& image, float* out) {
    const int64_t plane = static_cast<int64_t>(image.height()) * image.width();
    const int channels = image.channels();
    if (image.type() == PixelType::u8) {
        const uint8_t* src = image.u8();
        const float scale = 1.0f / 255.0f;
        for (int c = 0; c < channels; ++c)
            for (int64_t p = 0; p < plane; ++p)
                out[c * plane + p] = static_cast<float>(src[p * channels + c]) * scale;
    } else {
        const float* src = image.f32();
        for (int c = 0; c < channels; ++c)
            for (int64_t p = 0; p < plane; ++p) out[c * plane + p] = src[p * channels + c];
    }
}

}  // namespace

Tensor image_to_tensor(const Image& image) {
    QBH_CHECK(!image.empty(), "image_to_tensor: the image is empty");
    Tensor t = Tensor::empty({image.channels(), image.height(), image.width()}, DType::f32);
    write_chw(image, t.data<float>());
    return t;
}

Image tensor_to_image(const Tensor& chw) {
    QBH_CHECK(chw.defined(), "tensor_to_image: undefined tensor");
    Tensor t = chw.dim() == 4 && chw.size(0) == 1 ? chw.squeeze(0) : chw;
    QBH_CHECK(t.dim() == 3 && t.size(0) >= 1 && t.size(0) <= 4,
              "tensor_to_image: expected [C, H, W] or [1, C, H, W] with C in 1..4, got "
                  << describe(chw));
    t = t.to(Device::cpu).to(DType::f32).contiguous();
    const int c = static_cast<int>(t.size(0)), h = static_cast<int>(t.size(1)),
              w = static_cast<int>(t.size(2));
    Image image(h, w, c, PixelType::f32);
    const float* src = t.data<float>();
    float* dst = image.f32();
    const int64_t plane = static_cast<int64_t>(h) * w;
    for (int ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < plane; ++p) dst[p * c + ch] = src[ch * plane + p];
    return image;
}

void collate(const std::vector<Example>& examples, Tensor& images, Tensor& labels) {
    QBH_CHECK(!examples.empty(), "collate: no examples to batch");
    const Image& first = examples.front().image;
    QBH_CHECK(!first.empty(), "collate: example 0 has an empty image");
    const int64_t b = static_cast<int64_t>(examples.size());
    const Shape shape{b, first.channels(), first.height(), first.width()};
    if (!images.defined() || images.shape() != shape || images.dtype() != DType::f32 ||
        images.is_cuda())
        images = Tensor::empty(shape, DType::f32);
    if (!labels.defined() || labels.shape() != Shape{b} || labels.dtype() != DType::i64 ||
        labels.is_cuda())
        labels = Tensor::empty({b}, DType::i64);
    const int64_t per_image = static_cast<int64_t>(first.num_values());
    float* out = images.data<float>();
    int64_t* label_out = labels.data<int64_t>();
    for (int64_t i = 0; i < b; ++i) {
        const Image& image = examples[i].image;
        QBH_CHECK(image.height() == first.height() && image.width() == first.width() &&
                      image.channels() == first.channels(),
                  "collate: example " << i << " is " << image.shape_str() << " but example 0 is "
                                      << first.shape_str()
                                      << "; add a resize or crop transform so all images in a "
                                         "batch have the same size");
        write_chw(image, out + i * per_image);
        label_out[i] = examples[i].label;
    }
}

}  // namespace qbh::data
