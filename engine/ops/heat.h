// The heat-propagation op of QB-Heat (../shared/QBHEAT.md section 2): extends the visible
// feature map V [N, h, w, d] (channels last), sitting in one corner of the full grid, to the
// whole [N, 2h, 2w, d] grid with the learned linear maps A, B [d, d]. One op with its own
// backward (dV, dA, dB).
#pragma once

#include <string>

#include "engine/core/tensor.h"

namespace qbh {

enum class HeatMode { cell, block };
enum class HeatCorner { tl, tr, bl, br };

struct HeatOptions {
    HeatMode mode = HeatMode::cell;
    HeatCorner corner = HeatCorner::tl;
    bool norm = false;  // step on the layer-normalised feature: z + A LN(z) (no affine, eps 1e-6)
};

// Row-vector convention: a feature z is a row of length d and one step right is
// z (I + A)^T, i.e. (I + A) applied to the column vector z as in the paper.
// mode cell: Euler steps of one cell outward from the visible block's border (moving left or
// up uses I - A / I - B). mode block: right/left quarter (I +- A) V, lower/upper (I +- B) V,
// far quarter (I +- B)(I +- A) V, position by position.
// V [N, h, w, d] (any layout), A and B [d, d], one float dtype and device; returns a contiguous
// Z [N, 2h, 2w, d] recorded as one autograd node "heat_propagate" (gradients for V, A and B).
// The backward keeps only Z, A and B: the steps' inputs are read back from Z.
Tensor heat_propagate(const Tensor& v, const Tensor& a, const Tensor& b,
                      const HeatOptions& options = {});

// Config strings: "cell" | "block" and "tl" | "tr" | "bl" | "br"; anything else throws a
// qbh::Error listing the accepted values ("random" is the model layer's business, not the op's).
HeatMode heat_mode_from_string(const std::string& name);
HeatCorner heat_corner_from_string(const std::string& name);
const char* heat_mode_name(HeatMode mode);
const char* heat_corner_name(HeatCorner corner);

}  // namespace qbh
