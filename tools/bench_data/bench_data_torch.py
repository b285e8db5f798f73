"""The PyTorch twin of qbh_bench_data: the same three pipelines with torchvision + DataLoader.

    python3 tools/bench_data/bench_data_torch.py [--workers 1,2] [--cases fmnist,jpeg]

fmnist reads the same IDX files into memory and hands PIL images to the transforms, exactly as
torchvision.datasets.FashionMNIST does; jpeg and jpeg224 use torchvision.datasets.ImageFolder on the
folders qbh_bench_data made. Prints one line per run in the C++ program's format.
"""
import argparse
import gzip
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class FashionMNIST(Dataset):
    def __init__(self, transform):
        self.images = torch.from_numpy(read_idx(f"{FMNIST}/train-images-idx3-ubyte.gz").copy())
        self.labels = torch.from_numpy(read_idx(f"{FMNIST}/train-labels-idx1-ubyte.gz").copy())
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = Image.fromarray(self.images[i].numpy(), mode="L")
        return self.transform(image), int(self.labels[i])


def run(dataset, workers, batch_size, max_batches):
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        prefetch_factor=2, persistent_workers=True,
                        generator=torch.Generator().manual_seed(1))
    it = iter(loader)
    for _ in range(3):  # warm-up: workers started
        next(it)
    it = iter(loader)
    images, batches = 0, 0
    start = time.perf_counter()
    for x, _ in it:
        images += x.shape[0]
        batches += 1
        if batches == max_batches:
            break
    seconds = time.perf_counter() - start
    return images / seconds, images, seconds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workers", default="1,2")
    p.add_argument("--cases", default="fmnist,jpeg,jpeg224")
    p.add_argument("--jpeg-root", default="/tmp/qbheat-bench-jpeg")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--max-batches", type=int, default=0, help="0 = one epoch")
    a = p.parse_args()
    torch.set_num_threads(1)
    for case in a.cases.split(","):
        if case == "fmnist":
            tf = transforms.Compose([transforms.RandomResizedCrop(28, scale=(0.2, 1.0)),
                                     transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                                     transforms.Normalize([0.5], [0.25])])
            dataset = FashionMNIST(tf)
        else:
            large = case == "jpeg224"
            tf = transforms.Compose([transforms.RandomResizedCrop(224 if large else 64,
                                                                  scale=(0.2, 1.0)),
                                     transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                                     transforms.Normalize([0.5] * 3, [0.25] * 3)])
            root = a.jpeg_root + ("224" if large else "")
            dataset = datasets.ImageFolder(root, transform=tf)
        for w in [int(x) for x in a.workers.split(",")]:
            ips, images, seconds = run(dataset, w, a.batch_size, a.max_batches)
            print(f"torch  {case:7s} workers={w} images/s={ips:.0f} images={images} "
                  f"seconds={seconds:.3f}", flush=True)


if __name__ == "__main__":
    main()
