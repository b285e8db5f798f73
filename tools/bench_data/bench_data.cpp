// qbh_bench_data: images per second of the data pipeline (decode + augment + collate into
// batches) with 1 and 2 worker threads, on three cases that bracket what QB-Heat reads:
//   fmnist  Fashion-MNIST from its IDX files (in memory), random resized crop 28 (scale 0.2-1),
//           flip, to_float, normalise: augmentation and batching cost only.
//   jpeg    a folder of 5000 96x96 RGB JPEG files, random resized crop 64 (scale 0.2-1), flip,
//           to_float, normalise: small files, per-sample overhead matters.
//   jpeg224 a folder of 1000 320x320 RGB JPEG files, random resized crop 224, flip, to_float,
//           normalise: ImageNet-like sizes, decoding and resizing dominate.
// tools/bench_data/bench_data_torch.py runs the same pipelines with torchvision + DataLoader;
// tools/bench_data/run.sh runs both and prints the table for docs/benchmarks.md.
#include <stb_image_write.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/datasets.h"
#include "data/loader.h"
#include "data/transforms.h"

namespace fs = std::filesystem;
using namespace qbh::data;

namespace {

// Writes `count` side x side RGB JPEGs (quality 90) into root/<class>/<n>.jpg: Fashion-MNIST images
// upscaled with our bilinear resize and tinted per class, so files look like small photos
// (smooth, not noise, which would make JPEG decoding unrealistically slow).
void make_jpeg_folder(const std::string& root, int count, int side) {
    auto fm = open_dataset(kDefaultDatasetPath, {.split = "train"});
    for (int i = 0; i < count; ++i) {
        Example ex = fm->get(i);
        Image big = resize_image(ex.image, side, side);
        Image rgb(side, side, 3);
        const uint8_t tint[3] = {static_cast<uint8_t>(40 + 20 * ex.label),
                                 static_cast<uint8_t>(200 - 15 * ex.label), 128};
        for (int p = 0; p < side * side; ++p)
            for (int c = 0; c < 3; ++c)
                rgb.u8()[p * 3 + c] =
                    static_cast<uint8_t>((big.u8()[p] * (255 - tint[c]) / 255) + tint[c] / 4);
        fs::path dir = fs::path(root) / ("class" + std::to_string(ex.label));
        fs::create_directories(dir);
        std::string file = (dir / (std::to_string(i) + ".jpg")).string();
        if (!stbi_write_jpg(file.c_str(), side, side, 3, rgb.u8(), 90))
            throw std::runtime_error("could not write " + file);
    }
}

struct Result {
    double images_per_second = 0;
    int64_t images = 0;
    double seconds = 0;
};

// Warms up on 3 batches of epoch 0 (threads started, caches warm), then times epoch 1, or its
// first `max_batches` batches when that is not 0.
Result run(std::shared_ptr<const Dataset> dataset, TransformPtr transform, int workers,
           int64_t batch_size, int64_t max_batches) {
    LoaderOptions options;
    options.batch_size = batch_size;
    options.workers = workers;
    options.prefetch = 2 * std::max(workers, 1);
    options.seed = 1;
    Loader loader(dataset, transform, options);
    loader.start_epoch(0);
    for (int i = 0; i < 3; ++i) loader.next();
    loader.start_epoch(1);
    Result r;
    auto start = std::chrono::steady_clock::now();
    int64_t batches = 0;
    while (auto batch = loader.next()) {
        r.images += batch->images.size(0);
        if (++batches == max_batches) break;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.images_per_second = static_cast<double>(r.images) / r.seconds;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"qbh_bench_data: data pipeline throughput (images/s)"};
    std::string jpeg_root = "/tmp/qbheat-bench-jpeg";
    int64_t batch_size = 256, max_batches = 0;
    std::vector<int> workers = {1, 2};
    std::vector<std::string> cases = {"fmnist", "jpeg", "jpeg224"};
    app.add_option("--jpeg-root", jpeg_root, "folder of JPEGs (made on first use; 224 appended)");
    app.add_option("--batch-size", batch_size);
    app.add_option("--max-batches", max_batches, "timed batches per run (0 = one epoch)");
    app.add_option("--workers", workers)->delimiter(',');
    app.add_option("--cases", cases)->delimiter(',');
    CLI11_PARSE(app, argc, argv);

    try {
        auto norm = [](int c) {
            return normalize(std::vector<double>(c, 0.5), std::vector<double>(c, 0.25));
        };
        for (const std::string& name : cases) {
            std::shared_ptr<const Dataset> dataset;
            TransformPtr transform;
            if (name == "fmnist") {
                dataset = open_dataset(kDefaultDatasetPath, {.split = "train"});
                transform = std::make_shared<Compose>(std::vector<TransformPtr>{
                    random_resized_crop(28, 28, 0.2, 1.0), horizontal_flip(), to_float(), norm(1)});
            } else if (name == "jpeg" || name == "jpeg224") {
                const bool large = name == "jpeg224";
                const std::string root = large ? jpeg_root + "224" : jpeg_root;
                const int count = large ? 1000 : 5000, side = large ? 320 : 96;
                const int crop = large ? 224 : 64;
                if (!fs::exists(root)) {
                    std::cerr << "making " << count << " JPEGs in " << root << "\n";
                    make_jpeg_folder(root, count, side);
                }
                dataset = std::make_shared<ImageFolderDataset>(root, 3);
                transform = std::make_shared<Compose>(
                    std::vector<TransformPtr>{random_resized_crop(crop, crop, 0.2, 1.0),
                                              horizontal_flip(), to_float(), norm(3)});
            } else {
                std::cerr << "unknown case " << name << " (fmnist, jpeg, jpeg224)\n";
                return 2;
            }
            for (int w : workers) {
                Result r = run(dataset, transform, w, batch_size, max_batches);
                std::printf("qbheat %-7s workers=%d images/s=%.0f images=%lld seconds=%.3f\n",
                            name.c_str(), w, r.images_per_second, static_cast<long long>(r.images),
                            r.seconds);
                std::fflush(stdout);
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "qbh_bench_data: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
