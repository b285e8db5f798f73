// Writing pictures: one image, or a grid of same-sized images, as a PNG file (stb_image_write).
// f32 images are taken as [0, 1] and clamped; u8 as they are. The file is written atomically
// (temporary file, then rename), so a crash never leaves half a PNG.
#pragma once

#include <string>
#include <vector>

#include "data/image.h"

namespace qbh::data {

// Tiles `images` into rows of `columns` with `gap` pixels of `gap_value` (0..255) between them.
// Images may have 1 or 3 channels (mixed: grey is repeated to RGB). Throws qbh::Error on an
// empty list or different sizes.
Image make_grid(const std::vector<Image>& images, int columns, int gap = 2, int gap_value = 255);

// Throws qbh::Error naming the path when it cannot be written.
void write_png(const std::string& path, const Image& image);

}  // namespace qbh::data
