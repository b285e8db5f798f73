// Hand-written protobuf encoding (varint, fixed32/64, length-delimited fields) of the Event
// messages, CRC32C by a 256-entry table, and the buffered event file. Field numbers follow
// tensorflow/core/util/event.proto and framework/summary.proto.
#include "train/tensorboard.h"

#include <stb_image_write.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/core/error.h"

namespace qbh::train {
namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

// Protobuf wire types.
enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7F) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, uint32_t field, Wire wire) {
    put_varint(out, (field << 3) | wire);
}
void put_le(std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_double(std::string& out, uint32_t field, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    put_key(out, field, kFixed64);
    put_le(out, bits, 8);
}
void put_float(std::string& out, uint32_t field, float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put_key(out, field, kFixed32);
    put_le(out, bits, 4);
}
void put_int(std::string& out, uint32_t field, int64_t v) {
    put_key(out, field, kVarint);
    put_varint(out, static_cast<uint64_t>(v));  // negative int64: 10 bytes, as protobuf does
}
void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
    put_key(out, field, kBytes);
    put_varint(out, bytes.size());
    out += bytes;
}

// Event {1: wall_time, 2: step, 5: summary {1: value}}.
std::string summary_event(double wall_time, int64_t step, const std::string& value) {
    std::string summary, event;
    put_bytes(summary, 1, value);
    put_double(event, 1, wall_time);
    put_int(event, 2, step);
    put_bytes(event, 5, summary);
    return event;
}

void append_png(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
}

std::string encode_png(const std::string& tag, const data::Image& image) {
    std::vector<uint8_t> converted;
    const uint8_t* pixels;
    if (image.type() == data::PixelType::u8) {
        pixels = image.u8();
    } else {
        // [0, 1] -> 0..255 as data/grid.cpp and torchvision's save_image: floor(clamp(255x)+0.5).
        converted.resize(image.num_values());
        const float* in = image.f32();
        for (size_t i = 0; i < converted.size(); ++i) {
            float v = in[i] * 255.0f;
            v = v > 0.0f ? v : 0.0f;  // NaN -> 0
            v = v < 255.0f ? v : 255.0f;
            converted[i] = static_cast<uint8_t>(v + 0.5f);
        }
        pixels = converted.data();
    }
    std::string png;
    const int c = image.channels();
    QBH_CHECK(stbi_write_png_to_func(append_png, &png, image.width(), image.height(), c, pixels,
                                     image.width() * c),
              "add_image '" << tag << "': cannot encode " << image.shape_str() << " as PNG");
    return png;
}

double system_seconds() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t size) {
    const uint32_t crc = crc32c(data, size);
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string tfrecord_frame(const std::string& data) {
    std::string out, length;
    put_le(length, data.size(), 8);
    out += length;
    put_le(out, masked_crc32c(length.data(), length.size()), 4);
    out += data;
    put_le(out, masked_crc32c(data.data(), data.size()), 4);
    return out;
}

std::string encode_file_version_event(double wall_time) {
    std::string event;
    put_double(event, 1, wall_time);
    put_bytes(event, 3, "brain.Event:2");
    return event;
}

std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag,
                                float value) {
    std::string v;
    put_bytes(v, 1, tag);
    put_float(v, 2, value);
    return summary_event(wall_time, step, v);
}

std::string encode_image_event(double wall_time, int64_t step, const std::string& tag,
                               const data::Image& image) {
    QBH_CHECK(!image.empty(), "add_image '" << tag << "': the image is empty");
    const int c = image.channels();
    QBH_CHECK(c == 1 || c == 3 || c == 4, "add_image '"
                                              << tag << "': image " << image.shape_str() << " has "
                                              << c << " channels; TensorBoard takes 1, 3 or 4");
    std::string img, v;
    put_int(img, 1, image.height());
    put_int(img, 2, image.width());
    put_int(img, 3, c);  // colorspace: 1 grey, 3 RGB, 4 RGBA
    put_bytes(img, 4, encode_png(tag, image));
    put_bytes(v, 1, tag);
    put_bytes(v, 4, img);
    return summary_event(wall_time, step, v);
}

EventWriter::EventWriter(const std::string& dir, EventWriterOptions options)
    : options_(std::move(options)) {
    QBH_CHECK(
        options_.flush_every_events > 0,
        "EventWriter: flush_every_events must be positive, got " << options_.flush_every_events);
    const double t = now();
    std::string name = options_.file_name;
    if (name.empty())
        name = "events.out.tfevents." + std::to_string(static_cast<int64_t>(t)) + "." +
               host_name() + "." + std::to_string(::getpid()) + ".qbheat";
    path_ = (dir.empty() || dir.back() == '/') ? dir + name : dir + "/" + name;
    file_ = std::fopen(path_.c_str(), "wb");
    QBH_CHECK(file_, "EventWriter: cannot create " << path_ << " (" << std::strerror(errno)
                                                   << "); check that the folder exists");
    last_flush_ = t;
    write_event(encode_file_version_event(t));
    flush();  // the file is readable (and its write checked) from the start
}

EventWriter::~EventWriter() {
    if (!file_) return;
    try {
        flush();
    } catch (...) {  // nowhere to report it; the last add_*/flush call already threw if it could
    }
    std::fclose(file_);
}

double EventWriter::now() const {
    return options_.clock ? options_.clock() : system_seconds();
}

void EventWriter::add_scalar(const std::string& tag, float value, int64_t step) {
    write_event(encode_scalar_event(now(), step, tag, value));
}

void EventWriter::add_image(const std::string& tag, const data::Image& image, int64_t step) {
    write_event(encode_image_event(now(), step, tag, image));
}

void EventWriter::write_event(const std::string& event) {
    const std::string record = tfrecord_frame(event);
    errno = 0;
    QBH_CHECK(std::fwrite(record.data(), 1, record.size(), file_) == record.size(),
              "EventWriter: cannot write "
                  << path_ << " (" << (errno ? std::strerror(errno) : "short write") << ")");
    ++pending_;
    if (pending_ >= options_.flush_every_events ||
        now() - last_flush_ >= options_.flush_every_seconds)
        flush();
}

void EventWriter::flush() {
    errno = 0;
    const bool ok = std::fflush(file_) == 0;
    const int err = errno;
    pending_ = 0;
    last_flush_ = now();
    QBH_CHECK(ok, "EventWriter: cannot write "
                      << path_ << " (" << (err ? std::strerror(err) : "flush failed") << ")");
}

}  // namespace qbh::train
