// Tests of the threaded Loader with small in-memory datasets: exact batch contents, shuffling,
// determinism across worker counts, resuming, early stop, error propagation, skip_bad, the
// on_batch hook and argument errors. A watchdog ends the process if a test hangs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "data/decode/data_error.h"
#include "data/loader.h"
#include "tests/test_util.h"

namespace {

using namespace qbh::data;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Kills the test program when a test body runs past `limit`: a hang becomes a failure.
class Watchdog {
  public:
    explicit Watchdog(std::chrono::seconds limit = 10s)
        : thread_([this, limit] {
              std::unique_lock<std::mutex> lock(mutex_);
              if (cv_.wait_for(lock, limit, [&] { return done_; })) return;
              std::fprintf(stderr, "watchdog: a loader test hung for %lld s\n",
                           static_cast<long long>(limit.count()));
              std::fflush(stderr);
              std::_Exit(3);
          }) {}
    ~Watchdog() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

// Replaces std::cerr's buffer for a scope and keeps what was written.
class CaptureCerr {
  public:
    CaptureCerr() : old_(std::cerr.rdbuf(text_.rdbuf())) {}
    ~CaptureCerr() { std::cerr.rdbuf(old_); }
    std::string str() const { return text_.str(); }

  private:
    std::ostringstream text_;
    std::streambuf* old_;
};

constexpr int kH = 3, kW = 2, kC = 2, kValues = kH * kW * kC;

// Value k (HWC order) of example i's image.
uint8_t pixel(int64_t i, int k) {
    return static_cast<uint8_t>((i * 37 + k * 11) % 256);
}
int64_t label_of(int64_t i) {
    return 3 * i + 1;
}

// n examples of 3x2x2 u8 pixels; optional delay per get, bad indices and a get counter.
class TestDataset : public Dataset {
  public:
    explicit TestDataset(int64_t n) : n_(n) {}
    int64_t size() const override { return n_; }
    Example get(int64_t i) const override {
        QBH_CHECK(i >= 0 && i < n_, "TestDataset: index " << i << " out of range");
        ++gets;
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        if (bad_data.count(i)) throw DataError("bad.png: truncated");
        if (bad_other.count(i)) throw std::runtime_error("boom at " + std::to_string(i));
        Example e{Image(kH, kW, kC), label_of(i)};
        for (int k = 0; k < kValues; ++k) e.image.u8()[k] = pixel(i, k);
        return e;
    }
    const std::vector<std::string>& classes() const override { return classes_; }
    std::string describe() const override { return "test dataset"; }

    std::chrono::milliseconds delay{0};
    std::set<int64_t> bad_data, bad_other;
    mutable std::atomic<int64_t> gets{0};

  private:
    int64_t n_;
    std::vector<std::string> classes_{"a", "b"};
};

// Writes the sample's random numbers into an f32 image: shows which stream each sample used.
class NoiseTransform : public Transform {
  public:
    Image apply(const Image& image, SampleRng& rng) const override {
        Image out(image.height(), image.width(), image.channels(), PixelType::f32);
        for (size_t k = 0; k < out.num_values(); ++k)
            out.f32()[k] = static_cast<float>(rng.uniform());
        return out;
    }
    std::string describe() const override { return "Noise"; }
};

std::shared_ptr<TestDataset> dataset(int64_t n) {
    return std::make_shared<TestDataset>(n);
}

LoaderOptions options(int64_t batch, int workers, bool shuffle = false, int prefetch = 4) {
    LoaderOptions o;
    o.batch_size = batch;
    o.workers = workers;
    o.shuffle = shuffle;
    o.prefetch = prefetch;
    o.seed = 1234;
    return o;
}

std::vector<Batch> collect(Loader& loader, int64_t epoch, int64_t first = 0) {
    loader.start_epoch(epoch, first);
    std::vector<Batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    CHECK_FALSE(loader.next().has_value());  // stays at the end
    return out;
}

bool same_batch(const Batch& a, const Batch& b) {
    if (a.epoch != b.epoch || a.index != b.index || a.samples != b.samples ||
        a.skipped != b.skipped || a.images.shape() != b.images.shape() ||
        a.labels.shape() != b.labels.shape())
        return false;
    return std::memcmp(a.images.data<float>(), b.images.data<float>(),
                       a.images.numel() * sizeof(float)) == 0 &&
           std::memcmp(a.labels.data<int64_t>(), b.labels.data<int64_t>(),
                       a.labels.numel() * sizeof(int64_t)) == 0;
}

// Every row of `b` holds its sample's pixels (CHW, /255) and label.
void check_rows(const Batch& b) {
    const int64_t rows = static_cast<int64_t>(b.samples.size());
    REQUIRE(b.images.shape() == qbh::Shape{rows, kC, kH, kW});
    REQUIRE(b.labels.shape() == qbh::Shape{rows});
    const float* img = b.images.data<float>();
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t s = b.samples[r];
        CHECK(b.labels.data<int64_t>()[r] == label_of(s));
        for (int c = 0; c < kC; ++c)
            for (int p = 0; p < kH * kW; ++p)
                CHECK(img[r * kValues + c * kH * kW + p] ==
                      static_cast<float>(pixel(s, p * kC + c)) * (1.0f / 255.0f));
    }
}

}  // namespace

TEST_CASE("loader: batches hold the examples' pixels and labels in order", "[data][loader]") {
    Watchdog watchdog;
    for (int workers : {0, 2}) {
        Loader loader(dataset(10), nullptr, options(4, workers));
        REQUIRE(loader.batches_per_epoch() == 3);
        auto batches = collect(loader, 5);
        REQUIRE(batches.size() == 3);
        CHECK(batches[0].samples == std::vector<int64_t>{0, 1, 2, 3});
        CHECK(batches[2].samples == std::vector<int64_t>{8, 9});
        for (size_t i = 0; i < batches.size(); ++i) {
            CHECK(batches[i].epoch == 5);
            CHECK(batches[i].index == static_cast<int64_t>(i));
            check_rows(batches[i]);
        }
        // One value by hand: sample 1, channel 1, pixel (0, 0) = (37 + 11) % 256 = 48.
        CHECK(batches[0].images.data<float>()[kValues + kH * kW] ==
              Approx(48.0 / 255.0).epsilon(1e-6));
        CHECK(batches[2].labels.data<int64_t>()[1] == 28);
    }
}

TEST_CASE("loader: shuffle visits each index once, per-epoch orders, seeded", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(50);
    Loader loader(data, nullptr, options(8, 2, true));
    std::vector<int64_t> seen;
    for (const Batch& b : collect(loader, 0)) {
        check_rows(b);
        seen.insert(seen.end(), b.samples.begin(), b.samples.end());
    }
    CHECK(seen == loader.epoch_order(0));
    std::vector<int64_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> identity(50);
    for (int64_t i = 0; i < 50; ++i) identity[i] = i;
    CHECK(sorted == identity);
    CHECK(seen != identity);
    CHECK(loader.epoch_order(1) != loader.epoch_order(0));

    Loader same(data, nullptr, options(8, 0, true));
    CHECK(same.epoch_order(3) == loader.epoch_order(3));
    LoaderOptions other_seed = options(8, 0, true);
    other_seed.seed = 99;
    CHECK(Loader(data, nullptr, other_seed).epoch_order(0) != loader.epoch_order(0));
    CHECK(Loader(data, nullptr, options(8, 0, false)).epoch_order(4) == identity);
}

TEST_CASE("loader: batches are bitwise identical for any workers and prefetch", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(37);
    auto noise = std::make_shared<NoiseTransform>();
    Loader reference(data, noise, options(5, 0, true, 1));
    auto ref0 = collect(reference, 0), ref1 = collect(reference, 1);
    REQUIRE(ref0.size() == 8);
    CHECK(ref0.back().samples.size() == 2);
    CHECK_FALSE(same_batch(ref0[0], ref1[0]));  // the epoch changes order and noise
    for (int workers : {0, 1, 2, 4})
        for (int prefetch : {1, 8}) {
            INFO("workers " << workers << ", prefetch " << prefetch);
            Loader loader(data, noise, options(5, workers, true, prefetch));
            auto b0 = collect(loader, 0), b1 = collect(loader, 1);
            REQUIRE(b0.size() == ref0.size());
            REQUIRE(b1.size() == ref1.size());
            for (size_t i = 0; i < b0.size(); ++i) CHECK(same_batch(b0[i], ref0[i]));
            for (size_t i = 0; i < b1.size(); ++i) CHECK(same_batch(b1[i], ref1[i]));
        }
}

TEST_CASE("loader: drop_last counts batches and sizes the last one", "[data][loader]") {
    Watchdog watchdog;
    LoaderOptions keep = options(4, 1), drop = options(4, 1);
    drop.drop_last = true;
    Loader keep_loader(dataset(10), nullptr, keep), drop_loader(dataset(10), nullptr, drop);
    CHECK(keep_loader.batches_per_epoch() == 3);
    CHECK(drop_loader.batches_per_epoch() == 2);
    auto kept = collect(keep_loader, 0), dropped = collect(drop_loader, 0);
    REQUIRE(kept.size() == 3);
    CHECK(kept.back().images.size(0) == 2);
    REQUIRE(dropped.size() == 2);
    CHECK(dropped.back().images.size(0) == 4);
    CHECK(dropped.back().samples == std::vector<int64_t>{4, 5, 6, 7});
    Loader exact(dataset(8), nullptr, drop);
    CHECK(exact.batches_per_epoch() == 2);
}

TEST_CASE("loader: start_epoch(e, k) resumes at batch k", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(23);
    auto noise = std::make_shared<NoiseTransform>();
    Loader full(data, noise, options(4, 0, true));
    auto all = collect(full, 2);
    REQUIRE(all.size() == 6);
    Loader loader(data, noise, options(4, 2, true, 2));
    for (int64_t k = 0; k <= 6; ++k) {
        auto rest = collect(loader, 2, k);
        REQUIRE(rest.size() == static_cast<size_t>(6 - k));
        for (size_t i = 0; i < rest.size(); ++i) CHECK(same_batch(rest[i], all[k + i]));
    }
}

TEST_CASE("loader: restarting an epoch mid-way gives correct batches", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(40);
    auto noise = std::make_shared<NoiseTransform>();
    Loader reference(data, noise, options(4, 0, true));
    auto ref0 = collect(reference, 0), ref1 = collect(reference, 1);
    data->delay = 1ms;
    Loader loader(data, noise, options(4, 3, true, 4));
    loader.start_epoch(0);
    for (int i = 0; i < 2; ++i) CHECK(same_batch(*loader.next(), ref0[i]));
    auto epoch1 = collect(loader, 1);  // restarts while workers hold epoch-0 batches
    REQUIRE(epoch1.size() == ref1.size());
    for (size_t i = 0; i < epoch1.size(); ++i) CHECK(same_batch(epoch1[i], ref1[i]));
    loader.start_epoch(1);
    CHECK(same_batch(*loader.next(), ref1[0]));
    auto resumed = collect(loader, 0, 7);
    REQUIRE(resumed.size() == 3);
    for (size_t i = 0; i < 3; ++i) CHECK(same_batch(resumed[i], ref0[7 + i]));
}

TEST_CASE("loader: workers stay within prefetch batches of the consumer", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(100);
    Loader loader(data, nullptr, options(4, 4, false, 2));
    // Waits until `count` gets happened, then a while longer to catch any extra ones.
    auto settle = [&](int64_t count) {
        const auto deadline = Clock::now() + 2s;
        while (data->gets < count && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(50ms);
    };
    loader.start_epoch(0);
    settle(8);
    CHECK(data->gets == 8);  // 2 batches of 4, and no more
    REQUIRE(loader.next().has_value());
    settle(12);
    CHECK(data->gets == 12);
}

TEST_CASE("loader: destroying after an early stop returns promptly", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(400);
    data->delay = 5ms;
    auto loader = std::make_unique<Loader>(data, nullptr, options(8, 4, true, 4));
    loader->start_epoch(0);
    REQUIRE(loader->next().has_value());
    REQUIRE(loader->next().has_value());
    const auto start = Clock::now();
    loader.reset();
    const auto destroy_time = Clock::now() - start;
    const double ms = std::chrono::duration<double, std::milli>(destroy_time).count();
    INFO("destruction took " << ms << " ms");
    CHECK(ms < 2000.0);
    CHECK(data->gets < 100);  // workers stopped between samples, far from the epoch's end
}

TEST_CASE("loader: the destructor and stop() never hang, whatever the state", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(64);
    { Loader before_any_epoch(data, nullptr, options(4, 3)); }
    {
        Loader full_queue(data, nullptr, options(4, 3, true, 1));
        full_queue.start_epoch(0);
        std::this_thread::sleep_for(20ms);  // workers now wait for the consumer
    }
    {
        auto slow = dataset(64);
        slow->delay = 50ms;
        const auto start = Clock::now();
        {
            // A whole batch takes 16 x 50 ms: stopping between samples must not wait for it.
            Loader mid_sample(slow, nullptr, options(16, 2));
            mid_sample.start_epoch(0);
            std::this_thread::sleep_for(10ms);  // workers are inside get()
        }
        CHECK(Clock::now() - start < 400ms);
        CHECK(slow->gets <= 4);
    }
    {
        auto bad = dataset(64);
        bad->bad_data = {0};
        Loader after_error(bad, nullptr, options(4, 2));
        after_error.start_epoch(0);
        CHECK_THROWS_AS(after_error.next(), DataError);
    }
    Loader loader(data, nullptr, options(4, 2));
    loader.start_epoch(0);
    REQUIRE(loader.next().has_value());
    loader.stop();
    loader.stop();
    CHECK_THROWS_WITH(loader.next(), Catch::Contains("call start_epoch"));
    auto again = collect(loader, 0);  // start_epoch brings the workers back
    REQUIRE(again.size() == 16);
    for (const Batch& b : again) check_rows(b);
}

TEST_CASE("loader: a worker's DataError reaches the consumer on its batch", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(20);
    data->bad_data = {13};
    for (int workers : {0, 2}) {
        INFO("workers " << workers);
        Loader loader(data, nullptr, options(4, workers));
        loader.start_epoch(0);
        for (int i = 0; i < 3; ++i) {
            auto b = loader.next();
            REQUIRE(b.has_value());
            check_rows(*b);
        }
        CHECK_THROWS_AS(loader.next(), DataError);
        loader.start_epoch(0, 3);
        CHECK_THROWS_WITH(loader.next(), Catch::Contains("bad.png: truncated"));
        CHECK_THROWS_AS(loader.next(), qbh::Error);
        CHECK_THROWS_WITH(loader.next(),
                          Catch::Contains("the epoch stopped after an error; call start_epoch"));
        loader.start_epoch(1);  // a new epoch works again up to the bad batch
        REQUIRE(loader.next().has_value());
    }
}

TEST_CASE("loader: skip_bad leaves out bad samples and all-bad batches", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(14);
    data->bad_data = {1, 5, 8, 9, 10, 11};
    for (int workers : {0, 3}) {
        INFO("workers " << workers);
        LoaderOptions o = options(4, workers);
        o.skip_bad = true;
        Loader loader(data, nullptr, o);
        std::vector<Batch> batches;
        std::string warnings;
        {
            CaptureCerr capture;
            batches = collect(loader, 0);
            warnings = capture.str();
        }
        REQUIRE(batches.size() == 3);
        CHECK(batches[0].samples == std::vector<int64_t>{0, 2, 3});
        CHECK(batches[0].skipped == 1);
        CHECK(batches[1].samples == std::vector<int64_t>{4, 6, 7});
        CHECK(batches[2].index == 3);  // batch 2 had only bad samples
        CHECK(batches[2].samples == std::vector<int64_t>{12, 13});
        CHECK(batches[2].skipped == 0);
        for (const Batch& b : batches) check_rows(b);
        CHECK(loader.skipped_total() == 6);
        CHECK(std::count(warnings.begin(), warnings.end(), '\n') == 6);
        CHECK_THAT(warnings, Catch::Contains("qbheat data: skipping sample 5: bad.png: truncated"));
        CHECK_THAT(warnings, Catch::StartsWith("qbheat data: skipping sample 1: "));
    }
}

TEST_CASE("loader: skip_bad does not skip other exceptions", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(8);
    data->bad_other = {2};
    LoaderOptions o = options(4, 2);
    o.skip_bad = true;
    Loader loader(data, nullptr, o);
    loader.start_epoch(0);
    CHECK_THROWS_WITH(loader.next(), Catch::Contains("boom at 2"));
    loader.start_epoch(0);
    CHECK_THROWS_AS(loader.next(), std::runtime_error);
    CHECK(loader.skipped_total() == 0);
}

TEST_CASE("loader: on_batch runs on a worker and its changes reach the consumer",
          "[data][loader]") {
    Watchdog watchdog;
    for (int workers : {0, 2}) {
        INFO("workers " << workers);
        std::mutex mutex;
        std::vector<std::thread::id> threads;
        LoaderOptions o = options(4, workers);
        o.on_batch = [&](Batch& b) {
            {
                std::lock_guard<std::mutex> lock(mutex);
                threads.push_back(std::this_thread::get_id());
            }
            for (int64_t r = 0; r < b.labels.numel(); ++r) b.labels.data<int64_t>()[r] += 1000;
        };
        Loader loader(dataset(12), nullptr, o);
        auto batches = collect(loader, 0);
        REQUIRE(batches.size() == 3);
        for (const Batch& b : batches)
            for (size_t r = 0; r < b.samples.size(); ++r)
                CHECK(b.labels.data<int64_t>()[r] == label_of(b.samples[r]) + 1000);
        std::lock_guard<std::mutex> lock(mutex);
        REQUIRE(threads.size() == 3);
        for (std::thread::id id : threads)
            CHECK((id == std::this_thread::get_id()) == (workers == 0));
    }
}

TEST_CASE("loader: argument errors", "[data][loader]") {
    Watchdog watchdog;
    auto data = dataset(10);
    CHECK_THROWS_WITH(Loader(data, nullptr, options(0, 1)), Catch::Contains("batch_size"));
    CHECK_THROWS_WITH(Loader(data, nullptr, options(4, -1)), Catch::Contains("workers"));
    CHECK_THROWS_WITH(Loader(data, nullptr, options(4, 1, false, 0)), Catch::Contains("prefetch"));
    CHECK_THROWS_WITH(Loader(dataset(0), nullptr, options(4, 1)), Catch::Contains("empty"));
    CHECK_THROWS_AS(Loader(nullptr, nullptr, options(4, 1)), qbh::Error);
    LoaderOptions drop = options(16, 1);
    drop.drop_last = true;
    CHECK_THROWS_WITH(Loader(data, nullptr, drop), Catch::Contains("drop_last"));

    Loader loader(data, nullptr, options(4, 1));
    CHECK_THROWS_WITH(loader.next(), Catch::Contains("call start_epoch"));
    CHECK_THROWS_WITH(loader.start_epoch(0, 4), Catch::Contains("first_batch 4"));
    CHECK_THROWS_AS(loader.start_epoch(0, -1), qbh::Error);
    CHECK_THROWS_AS(loader.start_epoch(-1), qbh::Error);
    loader.start_epoch(0, 3);  // k == batches_per_epoch: an empty remainder
    CHECK_FALSE(loader.next().has_value());
    CHECK_FALSE(loader.next().has_value());
}
