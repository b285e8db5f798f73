// safetensors read/write (the Hugging Face format PyTorch reads): named tensors + string metadata.
// Used for checkpoints (weights, optimiser state) and golden test files; writes are atomic and
// reads validate every header field, so a bad or truncated file is an Error, never a crash.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace qbh::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The content of a safetensors file: tensors in file (data offset) order, and the metadata.
struct SafetensorsFile {
    NamedTensors tensors;
    std::map<std::string, std::string> metadata;

    bool contains(const std::string& name) const;
    // The tensor called `name`; throws naming the file's tensors when there is none.
    const Tensor& at(const std::string& name) const;
    // Name -> tensor, for lookups by name (a state dict).
    std::map<std::string, Tensor> to_map() const;
};

// Writes `tensors` (f32, f64, i64 or bf16; any layout or device; stored contiguous little-endian
// in the given order) and `metadata` to `path`. Atomic: the bytes go to `path.tmp.<pid>`, which
// is fsynced and renamed over `path`; on any error the temp file is removed and an existing
// `path` is left as it was. Names must be unique, non-empty and not "__metadata__".
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads a safetensors file with dtypes F32, F64, I64 or BF16 into CPU tensors. Every malformed
// header or data buffer throws an Error naming the file and the problem; nothing is allocated
// beyond what the file's size justifies.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace qbh::io
