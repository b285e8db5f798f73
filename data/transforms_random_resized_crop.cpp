// RandomResizedCrop and Normalize, the steps of data/transforms.h with the most arithmetic.
// The crop box follows torchvision's RandomResizedCrop.get_params draw for draw (Python's
// round() is half to even, as std::nearbyint); the crop and the resize share one pass.
#include <algorithm>
#include <cmath>

#include "data/transforms.h"
#include "data/transforms_kernels.h"
#include "engine/core/error.h"

namespace qbh::data {
namespace {

// int(round(v)) in Python: nearest, ties to even (the default floating-point rounding mode).
int py_round(double v) {
    return static_cast<int>(std::nearbyint(v));
}

class RandomResizedCrop : public Transform {
  public:
    RandomResizedCrop(int height, int width, double scale_min, double scale_max, double ratio_min,
                      double ratio_max)
        : height_(height),
          width_(width),
          scale_min_(scale_min),
          scale_max_(scale_max),
          ratio_min_(ratio_min),
          ratio_max_(ratio_max) {
        QBH_CHECK(height > 0 && width > 0,
                  "random_resized_crop: size must be positive, got " << height << "x" << width);
        QBH_CHECK(scale_min > 0 && scale_min <= scale_max && std::isfinite(scale_max),
                  "random_resized_crop: scale must satisfy 0 < scale_min <= scale_max, got ["
                      << scale_min << ", " << scale_max << "]");
        QBH_CHECK(ratio_min > 0 && ratio_min <= ratio_max && std::isfinite(ratio_max),
                  "random_resized_crop: ratio must satisfy 0 < ratio_min <= ratio_max, got ["
                      << ratio_min << ", " << ratio_max << "]");
    }
    Image apply(const Image& image, SampleRng& rng) const override {
        QBH_CHECK(!image.empty(), "random_resized_crop: got an empty image");
        const CropBox box = random_resized_crop_box(image.height(), image.width(), scale_min_,
                                                    scale_max_, ratio_min_, ratio_max_, rng);
        return detail::resize_window(image, box.top, box.left, box.height, box.width, height_,
                                     width_);
    }
    std::string describe() const override {
        return "RandomResizedCrop(" + std::to_string(height_) + "x" + std::to_string(width_) +
               ", scale=[" + detail::fmt_number(scale_min_) + ", " +
               detail::fmt_number(scale_max_) + "], ratio=[" + detail::fmt_number(ratio_min_) +
               ", " + detail::fmt_number(ratio_max_) + "])";
    }

  private:
    int height_, width_;
    double scale_min_, scale_max_, ratio_min_, ratio_max_;
};

class Normalize : public Transform {
  public:
    Normalize(std::vector<double> mean, std::vector<double> std)
        : mean_(std::move(mean)), std_(std::move(std)) {
        QBH_CHECK(mean_.size() >= 1 && mean_.size() <= 4 && std_.size() >= 1 && std_.size() <= 4,
                  "normalize: mean and std need 1..4 values, got " << mean_.size() << " and "
                                                                   << std_.size());
        for (double s : std_) QBH_CHECK(s > 0, "normalize: std must be positive, got " << s);
        for (double m : mean_) QBH_CHECK(std::isfinite(m), "normalize: mean must be finite");
    }
    Image apply(const Image& image, SampleRng&) const override {
        QBH_CHECK(image.type() == PixelType::f32,
                  "normalize: needs a float image; put to_float() before it");
        const int channels = image.channels();
        const auto fits = [&](size_t n) { return n == 1 || n == static_cast<size_t>(channels); };
        QBH_CHECK(fits(mean_.size()) && fits(std_.size()),
                  "normalize: mean has " << mean_.size() << " values and std " << std_.size()
                                         << ", a " << image.shape_str() << " image needs 1 or "
                                         << channels << " each");
        // One (mean, std) per value of a pixel, so the loop below is a flat pass.
        float m[4], s[4];
        for (int c = 0; c < channels; ++c) {
            m[c] = static_cast<float>(mean_[mean_.size() == 1 ? 0 : c]);
            s[c] = static_cast<float>(std_[std_.size() == 1 ? 0 : c]);
        }
        Image out(image.height(), image.width(), channels, PixelType::f32);
        const float* src = image.f32();
        float* dst = out.f32();
        const size_t pixels = static_cast<size_t>(image.height()) * image.width();
        for (size_t p = 0; p < pixels; ++p)
            for (int c = 0; c < channels; ++c)
                dst[p * channels + c] = (src[p * channels + c] - m[c]) / s[c];
        return out;
    }
    std::string describe() const override {
        const auto list = [](const std::vector<double>& v) {
            std::string s = "[";
            for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + detail::fmt_number(v[i]);
            return s + "]";
        };
        return "Normalize(mean=" + list(mean_) + ", std=" + list(std_) + ")";
    }

  private:
    std::vector<double> mean_, std_;
};

}  // namespace

CropBox random_resized_crop_box(int image_height, int image_width, double scale_min,
                                double scale_max, double ratio_min, double ratio_max,
                                SampleRng& rng) {
    const int H = image_height, W = image_width;
    const double area = static_cast<double>(H) * W;
    const double log_min = std::log(ratio_min), log_max = std::log(ratio_max);
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double target_area = area * rng.uniform(scale_min, scale_max);
        const double aspect = std::exp(rng.uniform(log_min, log_max));
        const int w = py_round(std::sqrt(target_area * aspect));
        const int h = py_round(std::sqrt(target_area / aspect));
        if (0 < w && w <= W && 0 < h && h <= H) {
            const int top = static_cast<int>(rng.integer(0, H - h));
            const int left = static_cast<int>(rng.integer(0, W - w));
            return CropBox{top, left, h, w};
        }
    }
    // Fallback: the largest centred window whose aspect is clamped to the ratio range (never
    // empty, where torchvision could round a side to 0 on a 1-pixel image).
    const double in_ratio = static_cast<double>(W) / H;
    int w = W, h = H;
    if (in_ratio < ratio_min)
        h = std::clamp(py_round(w / ratio_min), 1, H);
    else if (in_ratio > ratio_max)
        w = std::clamp(py_round(h * ratio_max), 1, W);
    return CropBox{(H - h) / 2, (W - w) / 2, h, w};
}

TransformPtr random_resized_crop(int height, int width, double scale_min, double scale_max,
                                 double ratio_min, double ratio_max) {
    return std::make_shared<RandomResizedCrop>(height, width, scale_min, scale_max, ratio_min,
                                               ratio_max);
}

TransformPtr normalize(std::vector<double> mean, std::vector<double> std) {
    return std::make_shared<Normalize>(std::move(mean), std::move(std));
}

}  // namespace qbh::data
