// The Transform steps of data/transforms.h (Compose, Pad, CenterCrop, RandomCrop,
// RandomResizedCrop, RandomHorizontalFlip, Resize, ToFloat, Normalize): argument checks at
// construction, random draws from the SampleRng, pixels via the kernels in transforms_*.cpp.
#include "data/transforms.h"

#include <algorithm>
#include <cmath>

#include "data/transforms_kernels.h"
#include "engine/core/error.h"

namespace qbh::data {
namespace {

std::string size_str(int height, int width) {
    return std::to_string(height) + "x" + std::to_string(width);
}

// Python's round() of an exact half-integer d / 2 (d >= 0): half to even, as torchvision's
// int(round((H - h) / 2.0)).
int half_round_even(int d) {
    const int k = d / 2;
    return (d % 2 == 0 || k % 2 == 0) ? k : k + 1;
}

class Pad : public Transform {
  public:
    Pad(int top, int bottom, int left, int right, double fill)
        : top_(top), bottom_(bottom), left_(left), right_(right), fill_(fill) {
        QBH_CHECK(top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
                  "pad: amounts must not be negative, got top="
                      << top << " bottom=" << bottom << " left=" << left << " right=" << right);
        QBH_CHECK(std::isfinite(fill), "pad: fill must be finite, got " << fill);
    }
    Image apply(const Image& image, SampleRng&) const override {
        return pad_image(image, top_, bottom_, left_, right_, fill_);
    }
    std::string describe() const override {
        const bool uniform = top_ == bottom_ && top_ == left_ && top_ == right_;
        if (uniform)
            return "Pad(" + std::to_string(top_) + ", fill=" + detail::fmt_number(fill_) + ")";
        return "Pad(top=" + std::to_string(top_) + ", bottom=" + std::to_string(bottom_) +
               ", left=" + std::to_string(left_) + ", right=" + std::to_string(right_) +
               ", fill=" + detail::fmt_number(fill_) + ")";
    }

  private:
    int top_, bottom_, left_, right_;
    double fill_;
};

class CenterCrop : public Transform {
  public:
    CenterCrop(int height, int width) : height_(height), width_(width) {
        QBH_CHECK(height > 0 && width > 0,
                  "center_crop: size must be positive, got " << size_str(height, width));
    }
    // torchvision pads a too-small side by (crop - size) // 2 before and the rest after, which
    // puts the image at offset -pad_before in the window; otherwise the offset is rounded.
    static int offset(int size, int crop) {
        return crop > size ? -((crop - size) / 2) : half_round_even(size - crop);
    }
    Image apply(const Image& image, SampleRng&) const override {
        QBH_CHECK(!image.empty(), "center_crop: got an empty image");
        return detail::crop_fill(image, offset(image.height(), height_),
                                 offset(image.width(), width_), height_, width_, 0.0);
    }
    std::string describe() const override {
        return "CenterCrop(" + size_str(height_, width_) + ")";
    }

  private:
    int height_, width_;
};

class RandomCrop : public Transform {
  public:
    RandomCrop(int height, int width, int padding)
        : height_(height), width_(width), padding_(padding) {
        QBH_CHECK(height > 0 && width > 0,
                  "random_crop: size must be positive, got " << size_str(height, width));
        QBH_CHECK(padding >= 0, "random_crop: padding must not be negative, got " << padding);
    }
    // The window is placed in the zero-padded image; one copy does padding and cropping.
    Image apply(const Image& image, SampleRng& rng) const override {
        QBH_CHECK(!image.empty(), "random_crop: got an empty image");
        const int64_t h = image.height() + 2 * int64_t{padding_};
        const int64_t w = image.width() + 2 * int64_t{padding_};
        QBH_CHECK(height_ <= h && width_ <= w,
                  "random_crop: window " << size_str(height_, width_) << " is larger than the " << h
                                         << "x" << w << " image (" << image.shape_str()
                                         << " padded by " << padding_ << ")");
        const int64_t top = rng.integer(0, h - height_);
        const int64_t left = rng.integer(0, w - width_);
        return detail::crop_fill(image, static_cast<int>(top - padding_),
                                 static_cast<int>(left - padding_), height_, width_, 0.0);
    }
    std::string describe() const override {
        std::string s = "RandomCrop(" + size_str(height_, width_);
        if (padding_ > 0) s += ", padding=" + std::to_string(padding_);
        return s + ")";
    }

  private:
    int height_, width_, padding_;
};

class HorizontalFlip : public Transform {
  public:
    explicit HorizontalFlip(double p) : p_(p) {
        QBH_CHECK(p >= 0 && p <= 1, "horizontal_flip: p must be in [0, 1], got " << p);
    }
    // Exactly one draw per call whatever p is, so later steps see the same stream.
    Image apply(const Image& image, SampleRng& rng) const override {
        return rng.bernoulli(p_) ? flip_image(image) : image;
    }
    std::string describe() const override {
        return "RandomHorizontalFlip(p=" + detail::fmt_number(p_) + ")";
    }

  private:
    double p_;
};

class Resize : public Transform {
  public:
    Resize(int height, int width) : height_(height), width_(width) {
        QBH_CHECK(height > 0 && width > 0,
                  "resize: size must be positive, got " << size_str(height, width));
    }
    Image apply(const Image& image, SampleRng&) const override {
        return resize_image(image, height_, width_);
    }
    std::string describe() const override { return "Resize(" + size_str(height_, width_) + ")"; }

  private:
    int height_, width_;
};

class ToFloat : public Transform {
  public:
    Image apply(const Image& image, SampleRng&) const override {
        if (image.type() == PixelType::f32) return image;
        QBH_CHECK(!image.empty(), "to_float: got an empty image");
        Image out(image.height(), image.width(), image.channels(), PixelType::f32);
        const uint8_t* src = image.u8();
        float* dst = out.f32();
        const size_t n = image.num_values();
        for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
        return out;
    }
    std::string describe() const override { return "ToFloat()"; }
};

}  // namespace

Compose::Compose(std::vector<TransformPtr> steps) : steps_(std::move(steps)) {
    for (size_t i = 0; i < steps_.size(); ++i)
        QBH_CHECK(steps_[i] != nullptr, "Compose: step " << i << " is null");
}

Image Compose::apply(const Image& image, SampleRng& rng) const {
    if (steps_.empty()) return image;
    Image current = steps_[0]->apply(image, rng);
    for (size_t i = 1; i < steps_.size(); ++i) current = steps_[i]->apply(current, rng);
    return current;
}

std::string Compose::describe() const {
    if (steps_.empty()) return "Identity()";
    std::string s;
    for (size_t i = 0; i < steps_.size(); ++i) s += (i ? " -> " : "") + steps_[i]->describe();
    return s;
}

TransformPtr pad(int top, int bottom, int left, int right, double fill) {
    return std::make_shared<Pad>(top, bottom, left, right, fill);
}
TransformPtr pad(int amount, double fill) {
    return std::make_shared<Pad>(amount, amount, amount, amount, fill);
}
TransformPtr center_crop(int height, int width) {
    return std::make_shared<CenterCrop>(height, width);
}
TransformPtr random_crop(int height, int width, int padding) {
    return std::make_shared<RandomCrop>(height, width, padding);
}
TransformPtr horizontal_flip(double p) {
    return std::make_shared<HorizontalFlip>(p);
}
TransformPtr resize(int height, int width) {
    return std::make_shared<Resize>(height, width);
}
TransformPtr to_float() {
    return std::make_shared<ToFloat>();
}

}  // namespace qbh::data
