// Loader: worker threads claim batch numbers in order (at most `prefetch` ahead of the
// consumer), load them without the lock and park them in a reorder buffer; next() hands them
// out strictly in order. A generation counter makes start_epoch/stop discard stale work.
#include "data/loader.h"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <utility>

#include "data/collate.h"
#include "data/decode/data_error.h"
#include "engine/core/error.h"

namespace qbh::data {
namespace {

// The shuffle stream: keyed apart from every per-sample stream (which use the plain seed).
constexpr uint64_t kShuffleKeyOffset = 0x9E3779B97F4A7C15ull;

}  // namespace

Loader::Loader(std::shared_ptr<const Dataset> dataset, TransformPtr transform,
               LoaderOptions options)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), options_(std::move(options)) {
    QBH_CHECK(dataset_ != nullptr, "loader: the dataset is null");
    QBH_CHECK(options_.batch_size >= 1,
              "loader: batch_size must be at least 1, got " << options_.batch_size);
    QBH_CHECK(
        options_.workers >= 0,
        "loader: workers must be 0 (load on the calling thread) or more, got " << options_.workers);
    QBH_CHECK(options_.prefetch >= 1,
              "loader: prefetch must be at least 1, got " << options_.prefetch);
    size_ = dataset_->size();
    QBH_CHECK(size_ > 0, "loader: the dataset is empty: " << dataset_->describe());
    QBH_CHECK(batches_per_epoch() > 0,
              "loader: the dataset has " << size_ << " examples, fewer than batch_size "
                                         << options_.batch_size
                                         << ", and drop_last drops them all; lower the batch size "
                                            "or turn drop_last off");
    start_workers();
}

Loader::~Loader() {
    try {
        stop();
    } catch (...) {  // stop() does not throw; this only keeps the destructor noexcept for sure
    }
}

int64_t Loader::batches_per_epoch() const {
    const int64_t b = options_.batch_size;
    return options_.drop_last ? size_ / b : (size_ + b - 1) / b;
}

std::vector<int64_t> Loader::epoch_order(int64_t epoch) const {
    QBH_CHECK(epoch >= 0, "loader: epoch must be >= 0, got " << epoch);
    std::vector<int64_t> order(static_cast<size_t>(size_));
    for (int64_t i = 0; i < size_; ++i) order[i] = i;
    if (!options_.shuffle) return order;
    SampleRng rng(options_.seed + kShuffleKeyOffset, static_cast<uint64_t>(epoch), 0);
    for (int64_t i = size_ - 1; i > 0; --i) std::swap(order[i], order[rng.integer(0, i)]);
    return order;
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
    const int64_t total = batches_per_epoch();
    QBH_CHECK(first_batch >= 0 && first_batch <= total, "loader: start_epoch: first_batch "
                                                            << first_batch << " is outside 0.."
                                                            << total << " (batches per epoch)");
    auto order = std::make_shared<const std::vector<int64_t>>(epoch_order(epoch));
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++generation_;
        done_.clear();
        fatal_ = nullptr;
        epoch_ = epoch;
        epoch_failed_ = false;
        order_ = std::move(order);
        next_to_claim_ = next_to_return_ = first_batch;
        end_batch_ = total;
    }
    if (workers_.empty()) start_workers();  // after stop()
    work_ready_.notify_all();
}

std::optional<Batch> Loader::next() {
    std::unique_lock<std::mutex> lock(mutex_);
    QBH_CHECK(epoch_ >= 0, "loader: no epoch in progress; call start_epoch before next");
    QBH_CHECK(!epoch_failed_,
              "loader: the epoch stopped after an error; call start_epoch to go on");
    while (next_to_return_ < end_batch_) {
        const int64_t index = next_to_return_;
        Result result;
        if (workers_.empty()) {
            const Claim claim{epoch_, index, generation_, order_};
            lock.unlock();
            try {
                std::optional<Result> loaded = load_batch(claim);
                QBH_CHECK(loaded, "loader: stopped while next() was loading a batch");
                result = std::move(*loaded);
            } catch (...) {
                result.error = std::current_exception();
            }
            lock.lock();
        } else {
            batch_ready_.wait(lock, [&] { return fatal_ || done_.count(index) > 0; });
            if (fatal_) {
                epoch_failed_ = true;
                std::rethrow_exception(fatal_);
            }
            auto it = done_.find(index);
            result = std::move(it->second);
            done_.erase(it);
        }
        ++next_to_return_;
        work_ready_.notify_all();  // one more batch may be claimed now
        for (const std::string& line : result.warnings) std::cerr << line << '\n';
        skipped_total_ += result.batch.skipped;
        if (result.error) {
            // The epoch ends here: in-flight batches are dropped and workers go idle.
            epoch_failed_ = true;
            ++generation_;
            done_.clear();
            std::rethrow_exception(result.error);
        }
        if (!result.batch.samples.empty()) return std::move(result.batch);
        // Every sample of this batch was bad (skip_bad): move on to the next one.
    }
    return std::nullopt;
}

void Loader::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
        ++generation_;
        done_.clear();
        epoch_ = -1;
    }
    work_ready_.notify_all();
    batch_ready_.notify_all();
    join_workers();
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
}

int64_t Loader::skipped_total() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return skipped_total_;
}

bool Loader::cancelled(uint64_t generation) const {
    return stopping_.load(std::memory_order_relaxed) ||
           generation_.load(std::memory_order_relaxed) != generation;
}

bool Loader::can_claim() const {
    return epoch_ >= 0 && !epoch_failed_ && next_to_claim_ < end_batch_ &&
           next_to_claim_ - next_to_return_ < options_.prefetch;
}

std::optional<Loader::Result> Loader::load_batch(const Claim& claim) const {
    const std::vector<int64_t>& order = *claim.order;
    const int64_t begin = claim.index * options_.batch_size;
    const int64_t end = std::min(begin + options_.batch_size, size_);
    Result result;
    Batch& batch = result.batch;
    batch.epoch = claim.epoch;
    batch.index = claim.index;
    std::vector<Example> examples;
    examples.reserve(static_cast<size_t>(end - begin));
    batch.samples.reserve(static_cast<size_t>(end - begin));
    for (int64_t position = begin; position < end; ++position) {
        if (cancelled(claim.generation)) return std::nullopt;
        const int64_t sample = order[position];
        Example example;
        if (options_.skip_bad) {
            try {
                example = dataset_->get(sample);
            } catch (const DataError& e) {
                std::ostringstream line;
                line << "qbheat data: skipping sample " << sample << ": " << e.what();
                result.warnings.push_back(line.str());
                ++batch.skipped;
                continue;
            }
        } else {
            example = dataset_->get(sample);
        }
        if (transform_) {
            SampleRng rng(options_.seed, static_cast<uint64_t>(claim.epoch),
                          static_cast<uint64_t>(position));
            example.image = transform_->apply(example.image, rng);
        }
        examples.push_back(std::move(example));
        batch.samples.push_back(sample);
    }
    if (examples.empty()) return result;
    collate(examples, batch.images, batch.labels);
    examples = {};  // free the decoded pixels before the hook copies the batch anywhere
    if (options_.on_batch) options_.on_batch(batch);
    return result;
}

void Loader::worker_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        work_ready_.wait(lock, [&] { return stopping_ || can_claim(); });
        if (stopping_) return;
        const Claim claim{epoch_, next_to_claim_++, generation_, order_};
        lock.unlock();
        std::optional<Result> result;
        try {
            result = load_batch(claim);
        } catch (...) {
            result.emplace();
            result->error = std::current_exception();
        }
        lock.lock();
        if (!result || generation_ != claim.generation) continue;  // stale: drop it
        try {
            done_.emplace(claim.index, std::move(*result));
        } catch (...) {  // out of memory for a map node: the consumer must not wait forever
            fatal_ = std::current_exception();
        }
        batch_ready_.notify_all();
    }
}

void Loader::start_workers() {
    try {
        for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
    } catch (...) {
        stop();  // the threads already started must not outlive a failed constructor
        throw;
    }
}

void Loader::join_workers() noexcept {
    for (std::thread& worker : workers_) {
        if (!worker.joinable()) continue;
        try {
            worker.join();
        } catch (...) {  // join only throws on a programming error; never let it escape
        }
    }
    workers_.clear();
}

}  // namespace qbh::data
