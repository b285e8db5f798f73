// Image: the in-memory picture every decoder produces and every transform consumes.
// Pixels are interleaved height x width x channels (HWC), row-major, either 8-bit (as decoded)
// or float (after ToFloat). This file knows nothing of the engine, so the decoders that use it
// can be fuzzed on their own; data/collate.h turns images into engine tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qbh::data {

enum class PixelType { u8, f32 };

const char* pixel_type_name(PixelType type);

class Image {
  public:
    Image() = default;
    // A zero-filled image. Throws qbh::Error on a non-positive size or channel count not in 1..4.
    Image(int height, int width, int channels, PixelType type = PixelType::u8);

    int height() const { return height_; }
    int width() const { return width_; }
    int channels() const { return channels_; }
    PixelType type() const { return type_; }
    bool empty() const { return height_ == 0; }
    // height * width * channels.
    size_t num_values() const;
    // "28x28x1 u8", for messages.
    std::string shape_str() const;

    // The pixel buffers; each throws qbh::Error when the image holds the other pixel type.
    uint8_t* u8();
    const uint8_t* u8() const;
    float* f32();
    const float* f32() const;

    // Pixel (y, x, c) as a double, whatever the pixel type (slow; for tests and statistics).
    double at(int y, int x, int c) const;

  private:
    int height_ = 0, width_ = 0, channels_ = 0;
    PixelType type_ = PixelType::u8;
    std::vector<uint8_t> u8_;
    std::vector<float> f32_;
};

}  // namespace qbh::data
