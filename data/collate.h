// Collation: examples -> one batch of engine tensors. Images become a float [B, C, H, W] tensor
// (u8 pixels scaled by 1/255, f32 copied) and labels an i64 [B] tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "engine/core/tensor.h"

namespace qbh::data {

// One image as a float [C, H, W] tensor.
Tensor image_to_tensor(const Image& image);

// A [C, H, W] or [1, C, H, W] float tensor as an f32 image (for writing pictures).
Image tensor_to_image(const Tensor& chw);

// Stacks same-shaped images into `images` ([B, C, H, W] f32, allocated here when undefined or
// the wrong shape) and labels into `labels` ([B] i64). Throws qbh::Error naming both shapes when
// two images differ ("add a resize or crop transform").
void collate(const std::vector<Example>& examples, Tensor& images, Tensor& labels);

}  // namespace qbh::data
