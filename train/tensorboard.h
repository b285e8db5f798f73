// TensorBoard event files written without a protobuf library: the few messages TensorBoard reads
// (Event, Summary, Value, Image) are encoded by hand and framed as TFRecords with masked CRC32C,
// so `tensorboard --logdir OUT` shows our scalars and reconstruction pictures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "data/image.h"

namespace qbh::train {

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum TFRecord uses.
uint32_t crc32c(const void* data, size_t size);
// TFRecord's masked form: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t size);

// One TFRecord: uint64 length (LE), masked crc of those 8 bytes, data, masked crc of data.
std::string tfrecord_frame(const std::string& data);

// Serialized Event messages (the record payloads), exposed so tests can check exact bytes.
std::string encode_file_version_event(double wall_time);
std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag,
                                float value);
// `image`: u8, or f32 taken as [0, 1] (clamped); 1 (grey), 3 (RGB) or 4 (RGBA) channels; stored
// as PNG. Throws qbh::Error naming the tag for an empty image or 2 channels.
std::string encode_image_event(double wall_time, int64_t step, const std::string& tag,
                               const data::Image& image);

struct EventWriterOptions {
    // Flush to disk after this many buffered events, or when this many seconds have passed
    // since the last flush (checked at each event), whichever comes first.
    int flush_every_events = 20;
    double flush_every_seconds = 10.0;
    // Unix seconds: the events' wall_time and the file name. Empty = the system clock.
    std::function<double()> clock;
    // Exact file name inside the folder instead of the generated one (tests).
    std::string file_name;
};

// Appends events to DIR/events.out.tfevents.<unix seconds>.<hostname>.<pid>.qbheat. The folder
// must exist. Every write or flush failure throws qbh::Error naming the file.
class EventWriter {
  public:
    explicit EventWriter(const std::string& dir, EventWriterOptions options = {});
    ~EventWriter();  // flushes; errors there are swallowed (destructors must not throw)
    EventWriter(const EventWriter&) = delete;
    EventWriter& operator=(const EventWriter&) = delete;

    void add_scalar(const std::string& tag, float value, int64_t step);
    void add_image(const std::string& tag, const data::Image& image, int64_t step);
    void flush();

    const std::string& path() const { return path_; }

  private:
    void write_event(const std::string& event);
    double now() const;

    std::string path_;
    EventWriterOptions options_;
    std::FILE* file_ = nullptr;
    int pending_ = 0;
    double last_flush_ = 0.0;
};

}  // namespace qbh::train
