// Transforms: composable image-to-image steps, as in torchvision. Geometric steps work on u8 and
// f32 images; ToFloat turns u8 into f32 in [0, 1]; Normalize needs f32. Random steps draw from
// the SampleRng they are given, so a pipeline is deterministic for a given (seed, epoch, position).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/sample_rng.h"

namespace qbh::data {

class Transform {
  public:
    virtual ~Transform() = default;
    virtual Image apply(const Image& image, SampleRng& rng) const = 0;
    // "RandomCrop(28x28, padding=4)", for logs and the saved run config.
    virtual std::string describe() const = 0;
};

using TransformPtr = std::shared_ptr<const Transform>;

// Applies steps in order. An empty Compose returns the image unchanged.
class Compose : public Transform {
  public:
    explicit Compose(std::vector<TransformPtr> steps);
    Image apply(const Image& image, SampleRng& rng) const override;
    std::string describe() const override;

  private:
    std::vector<TransformPtr> steps_;
};

// Adds `top/bottom/left/right` pixels of constant `fill` (in the image's own scale: 0..255 for
// u8, 0..1 for f32).
TransformPtr pad(int top, int bottom, int left, int right, double fill = 0);
TransformPtr pad(int amount, double fill = 0);
// The central height x width window; when the image is smaller it is zero-padded first
// (torchvision). Offsets: top = round((H - h) / 2), left = round((W - w) / 2).
TransformPtr center_crop(int height, int width);
// A uniformly placed height x width window, after optional zero padding on all sides. Throws
// qbh::Error (naming the sizes) when the padded image is smaller than the window.
TransformPtr random_crop(int height, int width, int padding = 0);
// torchvision's RandomResizedCrop: up to 10 tries of area fraction ~ U(scale) and log-aspect ~
// U(log ratio); falls back to a centre crop clamped to the ratio range; then bilinear resize.
TransformPtr random_resized_crop(int height, int width, double scale_min = 0.08,
                                 double scale_max = 1.0, double ratio_min = 3.0 / 4.0,
                                 double ratio_max = 4.0 / 3.0);
// Mirrors left-right with probability p.
TransformPtr horizontal_flip(double p = 0.5);
// Bilinear resize, half-pixel centres (align_corners = false), no antialiasing; u8 results are
// rounded to nearest.
TransformPtr resize(int height, int width);
// u8 -> f32 divided by 255; f32 passes through unchanged.
TransformPtr to_float();
// (x - mean[c]) / std[c] on an f32 image; one value each, or one per channel.
TransformPtr normalize(std::vector<double> mean, std::vector<double> std);

// The plain functions behind the steps, for direct use and tests.
Image pad_image(const Image& image, int top, int bottom, int left, int right, double fill);
Image crop_image(const Image& image, int top, int left, int height, int width);
Image flip_image(const Image& image);
Image resize_image(const Image& image, int height, int width);

// The window RandomResizedCrop takes from an image_height x image_width image (torchvision's
// RandomResizedCrop.get_params, drawing from `rng`); exposed for tests and statistics.
struct CropBox {
    int top = 0, left = 0, height = 0, width = 0;
};
CropBox random_resized_crop_box(int image_height, int image_width, double scale_min,
                                double scale_max, double ratio_min, double ratio_max,
                                SampleRng& rng);

}  // namespace qbh::data
