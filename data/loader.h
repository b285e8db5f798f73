// Loader: turns a Dataset and a Transform into batches, with worker threads and a bounded
// prefetch queue. Order and augmentation depend only on (seed, epoch): batch b of epoch e is
// the same tensor whatever the worker count. Workers stop cleanly when the Loader is destroyed
// or the consumer stops early; an error in a worker reaches the consumer (on the batch it
// belongs to) with the file name in its message.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"
#include "engine/core/tensor.h"

namespace qbh::data {

struct Batch {
    int64_t epoch = 0;
    int64_t index = 0;             // batch number within the epoch
    Tensor images;                 // [B, C, H, W] f32
    Tensor labels;                 // [B] i64
    std::vector<int64_t> samples;  // dataset indices of the rows, in order
    int64_t skipped = 0;           // bad samples left out of this batch (skip_bad mode)
};

struct LoaderOptions {
    int64_t batch_size = 64;
    bool shuffle = true;
    bool drop_last = false;
    int workers = 2;   // 0 = load on the consumer's thread
    int prefetch = 4;  // batches ready or in flight ahead of the consumer, per loader
    uint64_t seed = 0;
    // Skip examples whose get() throws DataError (counted, one warning line each on stderr)
    // instead of stopping with the error. The batch is then smaller.
    bool skip_bad = false;
    // Runs on the worker thread after collation, before the batch is queued. The CUDA backend
    // uses it to copy into pinned host memory and start the host-to-device copy early.
    std::function<void(Batch&)> on_batch;
};

class Loader {
  public:
    // Throws qbh::Error on batch_size < 1, workers < 0, prefetch < 1, or an empty dataset.
    Loader(std::shared_ptr<const Dataset> dataset, TransformPtr transform, LoaderOptions options);
    ~Loader();  // stops and joins the workers; never throws
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    int64_t batches_per_epoch() const;
    // Starts (or restarts) an epoch at batch `first_batch` (to resume mid-epoch). Stops any
    // epoch in progress first.
    void start_epoch(int64_t epoch, int64_t first_batch = 0);
    // The next batch of the current epoch, or nullopt at its end. Rethrows a worker's error.
    std::optional<Batch> next();
    // Stops the workers (the consumer is done early). Safe to call twice.
    void stop();

    // Samples skipped so far (skip_bad mode), over all epochs; counted as next() hands out (or
    // passes over) their batches, so batches dropped by a restart do not count.
    int64_t skipped_total() const;
    // The dataset order of epoch `epoch`: a seeded permutation, or 0..n-1 without shuffle.
    std::vector<int64_t> epoch_order(int64_t epoch) const;

  private:
    // A loaded batch or the error that stopped it, plus the skip warnings to print when the
    // consumer takes it (so they come out in batch order whatever the worker count).
    struct Result {
        Batch batch;
        std::exception_ptr error;
        std::vector<std::string> warnings;
    };
    // The work a claimed batch needs, copied under the lock so loading can run without it.
    struct Claim {
        int64_t epoch = 0, index = 0;
        uint64_t generation = 0;
        std::shared_ptr<const std::vector<int64_t>> order;
    };

    // Loads one batch; nullopt when the claim went stale (start_epoch or stop) mid-way.
    std::optional<Result> load_batch(const Claim& claim) const;
    bool cancelled(uint64_t generation) const;
    bool can_claim() const;  // with mutex_ held
    void worker_loop();
    void start_workers();
    void join_workers() noexcept;

    std::shared_ptr<const Dataset> dataset_;
    TransformPtr transform_;
    LoaderOptions options_;
    int64_t size_ = 0;

    mutable std::mutex mutex_;
    std::condition_variable work_ready_, batch_ready_;
    std::vector<std::thread> workers_;
    // Bumped by start_epoch, stop and an error: workers drop results of older generations.
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stopping_{false};
    int64_t epoch_ = -1;  // -1: no epoch started (or stopped)
    bool epoch_failed_ = false;
    std::shared_ptr<const std::vector<int64_t>> order_;
    int64_t next_to_claim_ = 0, next_to_return_ = 0, end_batch_ = 0;
    std::map<int64_t, Result> done_;
    std::exception_ptr fatal_;  // a worker could not even store its result (out of memory)
    int64_t skipped_total_ = 0;
};

}  // namespace qbh::data
