// Image: construction, checked access to the pixel buffers, and small helpers for messages.
#include "data/image.h"

#include <sstream>

#include "engine/core/error.h"

namespace qbh::data {

const char* pixel_type_name(PixelType type) {
    return type == PixelType::u8 ? "u8" : "f32";
}

Image::Image(int height, int width, int channels, PixelType type)
    : height_(height), width_(width), channels_(channels), type_(type) {
    QBH_CHECK(height > 0 && width > 0,
              "Image: height and width must be positive, got " << height << "x" << width);
    QBH_CHECK(channels >= 1 && channels <= 4, "Image: channels must be 1..4, got " << channels);
    if (type == PixelType::u8)
        u8_.assign(num_values(), 0);
    else
        f32_.assign(num_values(), 0.0f);
}

size_t Image::num_values() const {
    return static_cast<size_t>(height_) * static_cast<size_t>(width_) *
           static_cast<size_t>(channels_);
}

std::string Image::shape_str() const {
    std::ostringstream os;
    os << height_ << "x" << width_ << "x" << channels_ << " " << pixel_type_name(type_);
    return os.str();
}

uint8_t* Image::u8() {
    QBH_CHECK(type_ == PixelType::u8,
              "Image: asked for u8 pixels of a " << shape_str() << " image");
    return u8_.data();
}
const uint8_t* Image::u8() const {
    return const_cast<Image*>(this)->u8();
}

float* Image::f32() {
    QBH_CHECK(type_ == PixelType::f32,
              "Image: asked for f32 pixels of a " << shape_str() << " image");
    return f32_.data();
}
const float* Image::f32() const {
    return const_cast<Image*>(this)->f32();
}

double Image::at(int y, int x, int c) const {
    QBH_CHECK(y >= 0 && y < height_ && x >= 0 && x < width_ && c >= 0 && c < channels_,
              "Image::at(" << y << ", " << x << ", " << c << ") outside " << shape_str());
    size_t i = (static_cast<size_t>(y) * width_ + x) * channels_ + c;
    return type_ == PixelType::u8 ? static_cast<double>(u8_[i]) : static_cast<double>(f32_[i]);
}

}  // namespace qbh::data
