// inspect_dataset: per-chunk statistics computed by a few std::threads and combined in chunk
// order (deterministic for any thread count); format_report; and the sample grid of
// `qbheat data inspect --grid`.
#include "data/inspect.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <thread>

#include "data/grid.h"
#include "engine/core/error.h"

namespace qbh::data {
namespace {

// Samples per chunk: the unit of work and of combination. Fixed, so the sums do not depend on
// the number of threads.
constexpr int64_t kChunkSamples = 256;
constexpr int kMaxChannels = 4;

// Sums over one chunk, on the [0, 1] scale.
struct Partial {
    double sum[kMaxChannels] = {};
    double sumsq[kMaxChannels] = {};
    int64_t values[kMaxChannels] = {};
    std::vector<int64_t> class_counts;
    ImageShape min_shape{INT32_MAX, INT32_MAX, INT32_MAX};
    ImageShape max_shape{0, 0, 0};
};

// Per-channel integer sums of a u8 image: exact, and with C known the loop vectorises.
template <int C>
void add_u8(const uint8_t* p, size_t pixels, Partial& out) {
    uint64_t sum[C] = {}, sumsq[C] = {};
    for (size_t i = 0; i < pixels; ++i)
        for (int c = 0; c < C; ++c) {
            uint32_t v = p[i * C + c];
            sum[c] += v;
            sumsq[c] += v * v;
        }
    for (int c = 0; c < C; ++c) {
        out.sum[c] += static_cast<double>(sum[c]) / 255.0;
        out.sumsq[c] += static_cast<double>(sumsq[c]) / (255.0 * 255.0);
        out.values[c] += static_cast<int64_t>(pixels);
    }
}

void add_f32(const float* p, size_t pixels, int channels, Partial& out) {
    for (int c = 0; c < channels; ++c) {
        double sum = 0, sumsq = 0;
        for (size_t i = 0; i < pixels; ++i) {
            double v = p[i * channels + c];
            sum += v;
            sumsq += v * v;
        }
        out.sum[c] += sum;
        out.sumsq[c] += sumsq;
        out.values[c] += static_cast<int64_t>(pixels);
    }
}

void add_image(const Image& image, Partial& out) {
    ImageShape s{image.height(), image.width(), image.channels()};
    out.min_shape = {std::min(out.min_shape.height, s.height),
                     std::min(out.min_shape.width, s.width),
                     std::min(out.min_shape.channels, s.channels)};
    out.max_shape = {std::max(out.max_shape.height, s.height),
                     std::max(out.max_shape.width, s.width),
                     std::max(out.max_shape.channels, s.channels)};
    size_t pixels = static_cast<size_t>(s.height) * static_cast<size_t>(s.width);
    if (image.type() == PixelType::f32) return add_f32(image.f32(), pixels, s.channels, out);
    const uint8_t* p = image.u8();
    switch (s.channels) {
        case 1:
            return add_u8<1>(p, pixels, out);
        case 2:
            return add_u8<2>(p, pixels, out);
        case 3:
            return add_u8<3>(p, pixels, out);
        default:
            return add_u8<4>(p, pixels, out);
    }
}

void inspect_chunk(const Dataset& dataset, int64_t begin, int64_t end, Partial& out) {
    const int64_t num_classes = static_cast<int64_t>(dataset.classes().size());
    out.class_counts.assign(num_classes, 0);
    for (int64_t i = begin; i < end; ++i) {
        Example ex = dataset.get(i);
        QBH_CHECK(ex.label >= 0 && ex.label < num_classes,
                  dataset.describe() << ": sample " << i << " has label " << ex.label
                                     << " but the dataset has " << num_classes << " classes");
        ++out.class_counts[ex.label];
        add_image(ex.image, out);
    }
}

void print_progress(int64_t done, int64_t total) {
    std::fprintf(stderr, "\rinspect: %lld / %lld samples", static_cast<long long>(done),
                 static_cast<long long>(total));
    std::fflush(stderr);
}

// Runs inspect_chunk over all chunks on `threads` workers; the calling thread waits and draws
// the progress line. Rethrows the error of the lowest failing chunk.
std::vector<Partial> run_chunks(const Dataset& dataset, int64_t samples, int threads,
                                bool progress) {
    const int64_t num_chunks = (samples + kChunkSamples - 1) / kChunkSamples;
    std::vector<Partial> partials(num_chunks);
    std::vector<std::exception_ptr> errors(num_chunks);
    std::atomic<int64_t> next_chunk{0}, done_samples{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::condition_variable finished_cv;
    int running = threads;

    auto worker = [&] {
        for (int64_t c; !failed && (c = next_chunk++) < num_chunks;) {
            int64_t begin = c * kChunkSamples, end = std::min(samples, begin + kChunkSamples);
            try {
                inspect_chunk(dataset, begin, end, partials[c]);
            } catch (...) {
                errors[c] = std::current_exception();
                failed = true;
            }
            done_samples += end - begin;
        }
        std::lock_guard lock(mutex);
        if (--running == 0) finished_cv.notify_one();
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    bool printed = false;
    {
        std::unique_lock lock(mutex);
        while (!finished_cv.wait_for(lock, std::chrono::milliseconds(200),
                                     [&] { return running == 0; }))
            if (progress) {
                print_progress(done_samples, samples);
                printed = true;
            }
    }
    for (auto& t : pool) t.join();
    if (printed) std::fprintf(stderr, "\r%60s\r", "");  // leave the terminal clean
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
    return partials;
}

}  // namespace

InspectReport inspect_dataset(const Dataset& dataset, const InspectOptions& options) {
    QBH_CHECK(options.limit >= 0, "inspect_dataset: limit must be >= 0, got " << options.limit);
    InspectReport r;
    r.description = dataset.describe();
    r.dataset_size = dataset.size();
    r.classes = dataset.classes();
    QBH_CHECK(r.dataset_size > 0, r.description << ": the dataset has no samples");
    r.samples = options.limit > 0 ? std::min(options.limit, r.dataset_size) : r.dataset_size;

    int threads = options.threads > 0 ? options.threads
                                      : static_cast<int>(std::thread::hardware_concurrency());
    const int64_t num_chunks = (r.samples + kChunkSamples - 1) / kChunkSamples;
    threads = static_cast<int>(std::clamp<int64_t>(threads, 1, num_chunks));
    std::vector<Partial> partials = run_chunks(dataset, r.samples, threads, options.progress);

    Partial total = partials[0];
    for (size_t p = 1; p < partials.size(); ++p) {
        const Partial& q = partials[p];
        for (int c = 0; c < kMaxChannels; ++c) {
            total.sum[c] += q.sum[c];
            total.sumsq[c] += q.sumsq[c];
            total.values[c] += q.values[c];
        }
        for (size_t k = 0; k < total.class_counts.size(); ++k)
            total.class_counts[k] += q.class_counts[k];
        total.min_shape = {std::min(total.min_shape.height, q.min_shape.height),
                           std::min(total.min_shape.width, q.min_shape.width),
                           std::min(total.min_shape.channels, q.min_shape.channels)};
        total.max_shape = {std::max(total.max_shape.height, q.max_shape.height),
                           std::max(total.max_shape.width, q.max_shape.width),
                           std::max(total.max_shape.channels, q.max_shape.channels)};
    }
    r.class_counts = total.class_counts;
    r.min_shape = total.min_shape;
    r.max_shape = total.max_shape;
    for (int c = 0; c < r.max_shape.channels; ++c) {
        double n = static_cast<double>(total.values[c]);
        double mean = total.sum[c] / n;
        r.mean.push_back(mean);
        r.std.push_back(std::sqrt(std::max(0.0, total.sumsq[c] / n - mean * mean)));
    }
    return r;
}

namespace {

std::string shape_text(const ImageShape& s) {
    return std::to_string(s.height) + "x" + std::to_string(s.width) + "x" +
           std::to_string(s.channels);
}

// "T-shirt/top, Trouser, ..." with at most 20 names (first 10 and "..." beyond that).
std::string class_list(const std::vector<std::string>& classes) {
    const size_t shown = classes.size() <= 20 ? classes.size() : 10;
    std::string text;
    for (size_t i = 0; i < shown; ++i) text += (i ? ", " : "") + classes[i];
    if (shown < classes.size()) text += ", ...";
    return text;
}

}  // namespace

std::string format_report(const InspectReport& r) {
    std::ostringstream os;
    os << "dataset: " << r.description << "\n";
    os << "samples: " << r.samples;
    if (r.samples < r.dataset_size)
        os << " (first " << r.samples << " of " << r.dataset_size << ")";
    os << "\nclasses: " << r.classes.size() << " (" << class_list(r.classes) << ")\n";
    os << "class counts:";
    const auto& counts = r.class_counts;
    if (!counts.empty() &&
        std::all_of(counts.begin(), counts.end(), [&](int64_t n) { return n == counts[0]; }))
        os << " " << counts[0] << " each";
    else
        for (int64_t n : counts) os << " " << n;
    os << "\nimage shape: ";
    if (r.same_shape())
        os << shape_text(r.min_shape) << " (all samples)";
    else
        os << "varies: " << shape_text(r.min_shape) << " .. " << shape_text(r.max_shape);
    os << "\npixel mean/std per channel (on [0,1] scale):" << std::fixed << std::setprecision(4);
    for (double m : r.mean) os << " " << m;
    os << " /";
    for (double s : r.std) os << " " << s;
    os << "\n";
    return os.str();
}

std::vector<int64_t> grid_indices(int64_t size, int count) {
    QBH_CHECK(size > 0 && count > 0,
              "grid_indices: size and count must be positive, got " << size << ", " << count);
    const int64_t n = std::min<int64_t>(count, size);
    std::vector<int64_t> indices(n);
    for (int64_t i = 0; i < n; ++i) indices[i] = i * size / n;
    return indices;
}

namespace {

// `src` as u8 with 1 or 3 channels (alpha dropped, f32 clamped from [0, 1]), centred on a black
// height x width canvas.
Image to_grid_tile(const Image& src, int height, int width) {
    const int channels = src.channels() >= 3 ? 3 : 1;
    Image tile(height, width, channels);
    uint8_t* out = tile.u8();
    const int top = (height - src.height()) / 2, left = (width - src.width()) / 2;
    const int sc = src.channels();
    for (int y = 0; y < src.height(); ++y)
        for (int x = 0; x < src.width(); ++x)
            for (int c = 0; c < channels; ++c) {
                size_t i = (static_cast<size_t>(y) * src.width() + x) * sc + c;
                double v = src.type() == PixelType::u8
                               ? src.u8()[i]
                               : std::round(std::clamp(double(src.f32()[i]), 0.0, 1.0) * 255.0);
                out[(static_cast<size_t>(y + top) * width + x + left) * channels + c] =
                    static_cast<uint8_t>(v);
            }
    return tile;
}

}  // namespace

SampleGrid sample_grid(const Dataset& dataset, int count) {
    QBH_CHECK(count >= 1, "sample_grid: count must be >= 1, got " << count);
    QBH_CHECK(dataset.size() > 0, dataset.describe() << ": the dataset has no samples");
    std::vector<Image> images;
    int height = 0, width = 0;
    for (int64_t index : grid_indices(dataset.size(), count)) {
        images.push_back(dataset.get(index).image);
        height = std::max(height, images.back().height());
        width = std::max(width, images.back().width());
    }
    for (Image& image : images) image = to_grid_tile(image, height, width);
    SampleGrid grid;
    grid.count = static_cast<int>(images.size());
    while (grid.columns * grid.columns < grid.count) ++grid.columns;  // ceil(sqrt(count))
    grid.rows = (grid.count + grid.columns - 1) / grid.columns;
    grid.image = make_grid(images, grid.columns);
    return grid;
}

}  // namespace qbh::data
