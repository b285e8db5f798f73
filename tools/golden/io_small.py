# Writes tests/golden/io_small.safetensors with PyTorch's safetensors.torch.save_file, so the C++
# loader is tested against the reference writer (tests/test_safetensors.cpp checks these values).
# Run from the repository root: python3 tools/golden/io_small.py
import torch
from safetensors.torch import save_file

tensors = {
    "weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4 - 0.5,  # f32 [2, 3]
    "bias": torch.tensor([1.5, -2.25], dtype=torch.float64),  # f64 [2]
    "index": torch.tensor([[0, -1], [2**40, 7]], dtype=torch.int64),  # i64 [2, 2]
    "scalar": torch.tensor(3.0, dtype=torch.float32),  # f32 0-d
    "empty": torch.zeros(0, 4, dtype=torch.float32),  # f32 [0, 4]
}
save_file(tensors, "tests/golden/io_small.safetensors", metadata={"format": "pt", "made_by": "io_small.py"})
