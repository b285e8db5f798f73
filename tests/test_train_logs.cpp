// Run logs: CRC32C and the hand-encoded TensorBoard records (exact bytes, and a read-back by a
// small TFRecord/protobuf reader written here, independent of the writer), metrics.jsonl, and the
// console progress bar and lines under a fake clock.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/decode/image_decode.h"
#include "tests/test_util.h"
#include "train/metrics_log.h"
#include "train/progress.h"
#include "train/tensorboard.h"

using namespace qbh;
using namespace qbh::train;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() /
               ("qbh_test_logs_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string str() const { return path.string(); }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string bytes(std::initializer_list<int> values) {
    std::string s;
    for (int v : values) s.push_back(static_cast<char>(v));
    return s;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- an independent reader: bitwise CRC32C, TFRecord frames, generic protobuf fields ----

uint32_t bitwise_crc32c(const std::string& s) {
    uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : s) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}
uint32_t masked(const std::string& s) {
    const uint32_t c = bitwise_crc32c(s);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}
uint64_t le(const std::string& s, size_t at, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(static_cast<unsigned char>(s.at(at + i))) << (8 * i);
    return v;
}

std::vector<std::string> read_records(const std::string& file) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < file.size()) {
        REQUIRE(file.size() - at >= 12);
        const uint64_t n = le(file, at, 8);
        CHECK(le(file, at + 8, 4) == masked(file.substr(at, 8)));
        REQUIRE(file.size() - at >= 16 + n);
        out.push_back(file.substr(at + 12, n));
        CHECK(le(file, at + 12 + n, 4) == masked(out.back()));
        at += 16 + n;
    }
    return out;
}

struct Field {
    int wire = 0;
    uint64_t number = 0;  // varint, fixed32 or fixed64 bits
    std::string bytes;    // length-delimited
};
using Message = std::multimap<int, Field>;

Message parse(const std::string& s) {
    Message m;
    size_t at = 0;
    auto varint = [&] {
        uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            const auto b = static_cast<unsigned char>(s.at(at++));
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
    };
    while (at < s.size()) {
        const uint64_t key = varint();
        Field f;
        f.wire = static_cast<int>(key & 7);
        if (f.wire == 0) {
            f.number = varint();
        } else if (f.wire == 1 || f.wire == 5) {
            const int n = f.wire == 1 ? 8 : 4;
            f.number = le(s, at, n);
            at += n;
        } else {
            REQUIRE(f.wire == 2);
            const uint64_t n = varint();
            f.bytes = s.substr(at, n);
            at += n;
        }
        m.emplace(static_cast<int>(key >> 3), f);
    }
    return m;
}
const Field& one(const Message& m, int number) {
    REQUIRE(m.count(number) == 1);
    return m.find(number)->second;
}
double as_double(const Field& f) {
    double d;
    std::memcpy(&d, &f.number, 8);
    return d;
}
float as_float(const Field& f) {
    const auto bits = static_cast<uint32_t>(f.number);
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
}

// One summary event's content.
struct Read {
    double wall_time;
    int64_t step;
    std::string tag;
    Message value;
};
Read read_summary(const std::string& record) {
    const Message event = parse(record);
    const Message summary = parse(one(event, 5).bytes);
    const Message value = parse(one(summary, 1).bytes);
    return {as_double(one(event, 1)), static_cast<int64_t>(one(event, 2).number),
            one(value, 1).bytes, value};
}

}  // namespace

TEST_CASE("crc32c: the standard check value and TFRecord's mask", "[train][logs]") {
    CHECK(crc32c("123456789", 9) == 0xE3069283u);
    CHECK(crc32c("", 0) == 0u);
    CHECK(masked_crc32c("123456789", 9) == 0xC78AB0E5u);  // ((c >> 15) | (c << 17)) + 0xa282ead8
    std::string long_text(1000, 'x');
    long_text[500] = 'y';
    CHECK(crc32c(long_text.data(), long_text.size()) == bitwise_crc32c(long_text));
}

TEST_CASE("tensorboard: event messages encode to the expected bytes", "[train][logs]") {
    // wall_time 1.5 = 0x3FF8000000000000, step 7, tag "loss", simple_value 0.5f = 0x3F000000.
    const std::string value = bytes({0x0A, 4, 'l', 'o', 's', 's', 0x15, 0, 0, 0, 0x3F});
    const std::string summary = bytes({0x0A, 11}) + value;
    const std::string event =
        bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x10, 7, 0x2A, 13}) + summary;
    CHECK(encode_scalar_event(1.5, 7, "loss", 0.5f) == event);

    // step 300 is the varint AC 02; step -1 takes 10 bytes, as protobuf writes a negative int64.
    CHECK(encode_scalar_event(1.5, 300, "loss", 0.5f).substr(9, 3) == bytes({0x10, 0xAC, 0x02}));
    CHECK(encode_scalar_event(1.5, -1, "loss", 0.5f).substr(9, 11) ==
          bytes({0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));

    CHECK(encode_file_version_event(1.5) ==
          bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x1A, 13}) + "brain.Event:2");

    const std::string frame = tfrecord_frame(event);
    REQUIRE(frame.size() == 16 + event.size());
    CHECK(frame.substr(0, 8) == bytes({26, 0, 0, 0, 0, 0, 0, 0}));
    CHECK(le(frame, 8, 4) == masked(frame.substr(0, 8)));
    CHECK(frame.substr(12, 26) == event);
    CHECK(le(frame, 38, 4) == masked(event));
}

TEST_CASE("tensorboard: a written file reads back (scalars and PNG images)", "[train][logs]") {
    TempDir dir;
    double clock = 1700000000.25;
    std::string path;
    data::Image grey(2, 3, 1), rgba(1, 2, 4);
    for (int i = 0; i < 6; ++i) grey.u8()[i] = static_cast<uint8_t>(40 * i + 1);
    for (int i = 0; i < 8; ++i) rgba.u8()[i] = static_cast<uint8_t>(255 - 30 * i);
    data::Image rgb(2, 2, 3, data::PixelType::f32);
    const float f[12] = {0.f, 1.f, 0.5f, 2.f, -1.f, 0.25f, 0.1f, 0.2f, 0.3f, 0.4f, 0.6f, 0.9f};
    std::memcpy(rgb.f32(), f, sizeof f);
    const uint8_t rgb_u8[12] = {0, 255, 128, 255, 0, 64, 26, 51, 77, 102, 153, 230};
    {
        EventWriterOptions options;
        options.clock = [&] { return clock; };
        EventWriter writer(dir.str(), options);
        path = writer.path();
        clock += 1;
        writer.add_scalar("train/loss", 0.75f, 10);
        writer.add_scalar("train/lr", 1.25e-4f, 11);
        writer.add_image("recon/grey", grey, 12);
        writer.add_image("recon/rgb", rgb, 13);
        writer.add_image("recon/rgba", rgba, 14);
    }  // the destructor flushes
    const std::string name = fs::path(path).filename().string();
    CHECK(fs::path(path).parent_path() == dir.path);
    CHECK(name.rfind("events.out.tfevents.1700000000.", 0) == 0);
    CHECK(name.find("." + std::to_string(getpid()) + ".qbheat") != std::string::npos);

    const auto records = read_records(read_all(path));
    REQUIRE(records.size() == 6);
    const Message first = parse(records[0]);
    CHECK(as_double(one(first, 1)) == 1700000000.25);
    CHECK(one(first, 3).bytes == "brain.Event:2");

    const Read loss = read_summary(records[1]), lr = read_summary(records[2]);
    CHECK(loss.wall_time == 1700000001.25);
    CHECK((loss.tag == "train/loss" && loss.step == 10));
    CHECK(as_float(one(loss.value, 2)) == 0.75f);
    CHECK((lr.tag == "train/lr" && lr.step == 11));
    CHECK(as_float(one(lr.value, 2)) == 1.25e-4f);

    struct Expect {
        std::string tag;
        int h, w, c;
        std::vector<uint8_t> pixels;
    };
    const std::vector<Expect> expect = {
        {"recon/grey", 2, 3, 1, {grey.u8(), grey.u8() + 6}},
        {"recon/rgb", 2, 2, 3, {rgb_u8, rgb_u8 + 12}},
        {"recon/rgba", 1, 2, 4, {rgba.u8(), rgba.u8() + 8}},
    };
    for (int i = 0; i < 3; ++i) {
        const Read r = read_summary(records[3 + i]);
        const Expect& e = expect[i];
        CHECK((r.tag == e.tag && r.step == 12 + i));
        const Message image = parse(one(r.value, 4).bytes);
        CHECK(one(image, 1).number == uint64_t(e.h));
        CHECK(one(image, 2).number == uint64_t(e.w));
        CHECK(one(image, 3).number == uint64_t(e.c));
        const std::string& png = one(image, 4).bytes;
        const data::Image decoded =
            data::decode_image(reinterpret_cast<const uint8_t*>(png.data()), png.size(), 0, e.tag);
        CHECK(decoded.shape_str() ==
              std::to_string(e.h) + "x" + std::to_string(e.w) + "x" + std::to_string(e.c) + " u8");
        CHECK(std::vector<uint8_t>(decoded.u8(), decoded.u8() + decoded.num_values()) == e.pixels);
    }
}

TEST_CASE("tensorboard: events are flushed every N events or seconds", "[train][logs]") {
    TempDir dir;
    double clock = 100.0;
    const size_t header = tfrecord_frame(encode_file_version_event(0)).size();
    const size_t scalar = tfrecord_frame(encode_scalar_event(0, 1, "a", 0)).size();
    EventWriterOptions options;
    options.flush_every_events = 3;
    options.flush_every_seconds = 60;
    options.clock = [&] { return clock; };
    options.file_name = "events.test";
    EventWriter writer(dir.str(), options);
    CHECK(writer.path() == dir / "events.test");
    CHECK(fs::file_size(writer.path()) == header);  // written at once
    writer.add_scalar("a", 0, 1);
    writer.add_scalar("a", 0, 2);
    CHECK(fs::file_size(writer.path()) == header);  // buffered
    writer.add_scalar("a", 0, 3);
    CHECK(fs::file_size(writer.path()) == header + 3 * scalar);  // third event
    writer.add_scalar("a", 0, 4);
    clock += 59.5;
    writer.add_scalar("a", 0, 5);
    CHECK(fs::file_size(writer.path()) == header + 3 * scalar);
    clock += 0.5;
    writer.add_scalar("a", 0, 6);  // 60 s since the last flush
    CHECK(fs::file_size(writer.path()) == header + 6 * scalar);
    writer.add_scalar("a", 0, 7);
    writer.flush();
    CHECK(fs::file_size(writer.path()) == header + 7 * scalar);
}

TEST_CASE("tensorboard: errors name the file or the tag", "[train][logs]") {
    TempDir dir;
    const std::string missing = dir / "no_such_folder";
    CHECK_THROWS_WITH(EventWriter(missing), Contains("cannot create " + missing + "/events.out") &&
                                                Contains("folder exists"));
    EventWriterOptions zero;
    zero.flush_every_events = 0;
    CHECK_THROWS_WITH(EventWriter(dir.str(), zero),
                      Contains("flush_every_events must be positive, got 0"));
    if (fs::exists("/dev/full")) {  // a full disk: the first flush fails
        EventWriterOptions full;
        full.file_name = "full";
        CHECK_THROWS_WITH(EventWriter("/dev", full),
                          Contains("cannot write /dev/full") && Contains("No space left"));
    }
    EventWriter writer(dir.str());
    CHECK_THROWS_WITH(writer.add_image("pic", data::Image(2, 2, 2), 0),
                      Contains("add_image 'pic'") && Contains("2x2x2 u8 has 2 channels"));
    CHECK_THROWS_WITH(writer.add_image("pic", data::Image(), 0),
                      Contains("add_image 'pic': the image is empty"));
}

TEST_CASE("metrics log: one flushed JSON line per record, appended on resume", "[train][logs]") {
    TempDir dir;
    const std::string path = dir / "metrics.jsonl";
    double clock = 1234.5;
    {
        MetricsLog log(path, [&] { return clock; });
        CHECK(log.path() == path);
        log.log({{"step", 1}, {"loss", 0.5}});
        CHECK(read_all(path) == "{\"loss\":0.5,\"step\":1,\"time\":1234.5}\n");  // no close needed
        log.log({{"epoch", 2}, {"time", 7.0}});  // a given time is kept
        CHECK(read_all(path) ==
              "{\"loss\":0.5,\"step\":1,\"time\":1234.5}\n{\"epoch\":2,\"time\":7.0}\n");
    }
    MetricsLog resumed(path);  // system clock
    resumed.log({{"step", 3}});
    std::ifstream in(path);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    REQUIRE(lines.size() == 3);
    CHECK(lines[2]["step"] == 3);
    CHECK(lines[2]["time"].get<double>() > 1.6e9);  // unix seconds, after 2020
}

TEST_CASE("metrics log: errors name the path", "[train][logs]") {
    TempDir dir;
    const std::string missing = (dir.path / "nope" / "metrics.jsonl").string();
    CHECK_THROWS_WITH(MetricsLog(missing), Contains("cannot open " + missing + " for appending") &&
                                               Contains("folder exists"));
    MetricsLog log(dir / "m.jsonl");
    CHECK_THROWS_WITH(log.log(nlohmann::json::array({1, 2})),
                      Contains("m.jsonl: a record must be a JSON object, got array"));
    if (fs::exists("/dev/full")) {
        MetricsLog full("/dev/full");
        CHECK_THROWS_WITH(full.log({{"step", 1}}),
                          Contains("cannot write /dev/full") && Contains("No space left"));
    }
}

TEST_CASE("progress: ETA formatting", "[train][logs]") {
    CHECK(format_eta(0) == "00:00");
    CHECK(format_eta(27.4) == "00:27");
    CHECK(format_eta(27.5) == "00:28");
    CHECK(format_eta(3599) == "59:59");
    CHECK(format_eta(3600) == "1:00:00");
    CHECK(format_eta(3723) == "1:02:03");
    CHECK(format_eta(36000) == "10:00:00");
    CHECK(format_eta(-1) == "--:--");
    CHECK(format_eta(std::nan("")) == "--:--");
    CHECK(format_eta(INFINITY) == "--:--");
}

TEST_CASE("progress: plain lines at most every interval, and the last step", "[train][logs]") {
    std::ostringstream out;
    double t = 0;
    Progress p(500, out, false, 5.0, [&] { return t; });
    t = 10;
    p.update(120, 0.41234, 1.2e-4, 812.3);  // first update: shown; ETA 10 / 120 * 380 = 31.7
    t = 14.9;
    p.update(130, 0.4, 1e-4, 800);  // held back
    t = 15;
    p.update(150, 0.3, 1e-4, 800);  // 5 s later: shown; ETA 15 / 150 * 350 = 35
    t = 16;
    p.update(500, 0.2, 1e-5, 900);  // the last step is always shown
    p.finish();
    p.finish();
    CHECK(out.str() ==
          "step 120/500 loss 0.4123 lr 1.2e-04 812 img/s ETA 00:32\n"
          "step 150/500 loss 0.3000 lr 1.0e-04 800 img/s ETA 00:35\n"
          "step 500/500 loss 0.2000 lr 1.0e-05 900 img/s ETA 00:00\n");

    // finish() shows a held-back state; the ETA counts from start_step.
    std::ostringstream out2;
    t = 0;
    Progress q(
        10000, out2, false, 60.0, [&] { return t; }, 4000);
    t = 1;
    q.update(4001, 1, 1, 1);
    t = 2;
    q.update(4002, 2, 2, 2);
    q.finish();
    CHECK(out2.str() ==
          "step 4001/10000 loss 1.0000 lr 1.0e+00 1 img/s ETA 1:39:59\n"
          "step 4002/10000 loss 2.0000 lr 2.0e+00 2 img/s ETA 1:39:58\n");
}

TEST_CASE("progress: a terminal bar redrawn at most 10 times a second", "[train][logs]") {
    std::ostringstream out;
    double t = 0;
    Progress p(40, out, true, 5.0, [&] { return t; });
    t = 1;
    p.update(10, 0.5, 1e-3, 1000);  // drawn; ETA 1 / 10 * 30 = 3
    t = 1.05;
    p.update(11, 0.5, 1e-3, 1000);  // held back
    t = 1.1;
    p.update(20, 0.25, 1e-3, 99);  // drawn, shorter: padded with 2 spaces
    t = 1.15;
    p.update(21, 0.25, 1e-3, 99);  // held back; finish() draws it and ends the line
    p.finish();
    CHECK(out.str() ==
          "\r[#####...............] 10/40 loss 0.5000 lr 1.0e-03 1000 img/s ETA 00:03"
          "\r[##########..........] 20/40 loss 0.2500 lr 1.0e-03 99 img/s ETA 00:01  "
          "\r[##########..........] 21/40 loss 0.2500 lr 1.0e-03 99 img/s ETA 00:01\n");
    std::ostringstream none;
    Progress idle(5, none, true, 1.0, [&] { return t; });
    idle.finish();  // nothing drawn: no empty line
    CHECK(none.str().empty());
}

TEST_CASE("progress: bad arguments are refused", "[train][logs]") {
    std::ostringstream out;
    CHECK_THROWS_WITH(Progress(0, out, false, 1.0),
                      Contains("Progress: total_steps must be positive, got 0"));
    CHECK_THROWS_WITH(Progress(10, out, false, -1.0),
                      Contains("Progress: interval_seconds must be >= 0, got -1"));
}
