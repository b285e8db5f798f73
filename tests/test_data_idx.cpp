// Tests of the in-memory dataset readers: file reading and gzip (file_bytes), IDX and CIFAR
// parsing, IdxDataset / CifarDataset pixels and labels, and open_dataset's recognition of
// folders, with every bad-input path. All fixtures are written by hand into a temporary folder.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/datasets.h"
#include "data/decode/cifar.h"
#include "data/decode/data_error.h"
#include "data/decode/file_bytes.h"
#include "data/decode/idx.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace qbh::data;
using Bytes = std::vector<uint8_t>;
using Catch::Contains;

namespace {

using qbh::test::TempDir;

void write_file(const std::string& path, const Bytes& bytes) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    REQUIRE(f.good());
}

void put_be32(Bytes& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// An IDX file: magic 00 00 <type> <ndims>, big-endian dims, then the values.
Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& values, uint8_t type = 0x08) {
    Bytes b = {0, 0, type, static_cast<uint8_t>(dims.size())};
    for (uint32_t d : dims) put_be32(b, d);
    b.insert(b.end(), values.begin(), values.end());
    return b;
}

// A gzip stream (deflate with the gzip wrapper, windowBits 15 + 16).
Bytes gzip(const Bytes& data) {
    z_stream s{};
    REQUIRE(deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    Bytes out(deflateBound(&s, static_cast<uLong>(data.size())) + 32);
    s.next_in = const_cast<Bytef*>(data.data());
    s.avail_in = static_cast<uInt>(data.size());
    s.next_out = out.data();
    s.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
    out.resize(s.total_out);
    deflateEnd(&s);
    return out;
}

// A small 3-image 2x3 set: pixel (n, y, x) = 10 n + 3 y + x, labels 2, 0, 9.
const Bytes kPixels = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25};
const Bytes kLabels = {2, 0, 9};

void write_idx_pair(const TempDir& dir, const std::string& prefix, bool gz,
                    const Bytes& labels = kLabels) {
    Bytes images = idx_bytes({3, 2, 3}, kPixels, 0x08);
    Bytes labs = idx_bytes({static_cast<uint32_t>(labels.size())}, labels);
    std::string ext = gz ? ".gz" : "";
    write_file(dir / (prefix + "-images-idx3-ubyte" + ext), gz ? gzip(images) : images);
    write_file(dir / (prefix + "-labels-idx1-ubyte" + ext), gz ? gzip(labs) : labs);
}

void check_small_idx(const Dataset& ds) {
    REQUIRE(ds.size() == 3);
    for (int n = 0; n < 3; ++n) {
        Example ex = ds.get(n);
        REQUIRE(ex.image.shape_str() == "2x3x1 u8");
        CHECK(ex.label == kLabels[n]);
        for (int y = 0; y < 2; ++y)
            for (int x = 0; x < 3; ++x) CHECK(ex.image.at(y, x, 0) == 10 * n + 3 * y + x);
    }
    CHECK_THROWS_AS(ds.get(3), qbh::Error);
    CHECK_THROWS_AS(ds.get(-1), qbh::Error);
}

// CIFAR record pixel values: plane c, pixel p.
uint8_t cifar_value(int record, int c, int p) {
    return static_cast<uint8_t>((record * 31 + c * 101 + p * 7) & 0xff);
}

Bytes cifar_bytes(const std::vector<std::vector<uint8_t>>& labels) {
    Bytes b;
    for (size_t r = 0; r < labels.size(); ++r) {
        b.insert(b.end(), labels[r].begin(), labels[r].end());
        for (int c = 0; c < 3; ++c)
            for (int p = 0; p < 1024; ++p) b.push_back(cifar_value(static_cast<int>(r), c, p));
    }
    return b;
}

// Record `record` of a fixture, read back as HWC.
void check_cifar_example(const Example& ex, int record, int64_t label) {
    REQUIRE(ex.image.shape_str() == "32x32x3 u8");
    CHECK(ex.label == label);
    int bad = 0;
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x)
            for (int c = 0; c < 3; ++c)
                bad += ex.image.at(y, x, c) != cifar_value(record, c, y * 32 + x);
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("idx: parse_idx reads images and labels exactly", "[data][idx]") {
    Bytes images = idx_bytes({3, 2, 3}, kPixels);
    IdxArray a = parse_idx(images.data(), images.size(), "img");
    CHECK(a.dims == std::vector<int64_t>{3, 2, 3});
    CHECK(a.values == kPixels);
    Bytes labels = idx_bytes({3}, kLabels);
    IdxArray l = parse_idx(labels.data(), labels.size(), "lab");
    CHECK(l.dims == std::vector<int64_t>{3});
    CHECK(l.values == kLabels);
}

TEST_CASE("idx: parse_idx refuses bad headers and sizes", "[data][idx]") {
    auto parse = [](const Bytes& b) { return parse_idx(b.data(), b.size(), "f.idx"); };
    Bytes good = idx_bytes({3, 2, 3}, kPixels);
    Bytes b = good;
    b[0] = 0x1f, b[1] = 0x8b, b[2] = 0x08, b[3] = 0x08;
    CHECK_THROWS_WITH(parse(b), Contains("f.idx: not an IDX file (magic 0x1f8b0808; expected "
                                         "0x00000803 for images or 0x00000801 for labels)"));
    CHECK_THROWS_AS(parse(b), DataError);
    CHECK_THROWS_WITH(parse(idx_bytes({3, 2, 3}, Bytes(18 * 4), 0x0D)),
                      Contains("f.idx: IDX value type 0x0d (float) is not supported"));
    CHECK_THROWS_WITH(parse(idx_bytes({}, {})), Contains("f.idx: IDX header declares 0 dim"));
    CHECK_THROWS_WITH(parse(idx_bytes({1, 1, 1, 1, 1}, {7})),
                      Contains("declares 5 dimensions; expected 1 to 4"));
    CHECK_THROWS_WITH(parse(idx_bytes({3, 0, 3}, {})), Contains("f.idx: IDX dimension 1 is 0"));
    CHECK_THROWS_WITH(parse(Bytes{0, 0, 8}), Contains("f.idx: too short for an IDX header"));
    CHECK_THROWS_WITH(parse(Bytes{0, 0, 8, 3, 0, 0, 0, 3, 0, 0}),
                      Contains("f.idx: truncated: the header declares 3 dimensions"));
    Bytes short1(good.begin(), good.end() - 1);
    CHECK_THROWS_WITH(parse(short1), Contains("f.idx: truncated: header declares 3 images of "
                                              "2x3 (18 bytes) but the file holds 17 bytes"));
    CHECK_THROWS_AS(parse(short1), DataError);
    Bytes longer = good;
    longer.push_back(0);
    CHECK_THROWS_WITH(parse(longer), Contains("f.idx: 1 unexpected bytes after the 18 values"));
    // Absurd declared sizes fail on the header alone, before any allocation.
    CHECK_THROWS_WITH(parse(idx_bytes({0xffffffffu, 28, 28}, {1, 2})),
                      Contains("more than 4294967296 values"));
    CHECK_THROWS_WITH(parse(idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {})),
                      Contains("more than 4294967296 values"));  // no int64 overflow either
    CHECK_THROWS_WITH(parse(idx_bytes({0x80000000u, 2, 1}, {1, 2})),
                      Contains("truncated: header declares 2147483648 images of 2x1"));
}

TEST_CASE("idx: read_file_bytes names the file and what is wrong", "[data][idx]") {
    TempDir dir;
    write_file(dir / "f.bin", {1, 2, 3, 4, 5});
    CHECK(read_file_bytes(dir / "f.bin") == Bytes{1, 2, 3, 4, 5});
    write_file(dir / "empty.bin", {});
    CHECK(read_file_bytes(dir / "empty.bin").empty());
    CHECK_THROWS_WITH(read_file_bytes(dir / "f.bin", 4),
                      Contains("f.bin: 5 bytes, more than the limit of 4 bytes"));
    CHECK_THROWS_AS(read_file_bytes(dir / "nope"), DataError);
    CHECK_THROWS_WITH(read_file_bytes(dir / "nope"), Contains("nope: no such file"));
    CHECK_THROWS_WITH(read_file_bytes(dir / "nope"), !Contains("apt-get"));
    CHECK_THROWS_WITH(read_file_bytes("/usr/share/datasets/qbh-none/x.gz"),
                      Contains("/usr/share/datasets/qbh-none/x.gz: no such file; install "
                               "Fashion-MNIST with `apt-get install dataset-fashion-mnist`"));
    CHECK_THROWS_WITH(read_file_bytes(dir.path.string()), Contains(": is a folder"));
    fs::permissions(dir / "f.bin", fs::perms::none);
    if (access((dir / "f.bin").c_str(), R_OK) != 0)  // root reads anything
        CHECK_THROWS_WITH(read_file_bytes(dir / "f.bin"), Contains("f.bin: cannot open"));
}

TEST_CASE("idx: gunzip_bytes inflates and refuses corrupt, truncated and oversized streams",
          "[data][idx]") {
    Bytes data(100000);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * i >> 3);
    Bytes gz = gzip(data);
    CHECK(is_gzip(gz.data(), gz.size()));
    CHECK_FALSE(is_gzip(data.data(), data.size()));
    CHECK(gunzip_bytes(gz.data(), gz.size(), "g") == data);
    CHECK(gunzip_bytes(gz.data(), gz.size(), "g", data.size()) == data);  // exactly the limit
    // Two gzip members one after the other (what `cat a.gz b.gz` gives).
    Bytes two = gz;
    Bytes small = gzip({7, 8, 9});
    two.insert(two.end(), small.begin(), small.end());
    Bytes expected = data;
    expected.insert(expected.end(), {7, 8, 9});
    CHECK(gunzip_bytes(two.data(), two.size(), "g") == expected);

    Bytes bad_method = gz;
    bad_method[2] = 7;  // compression method must be 8 (deflate)
    CHECK_THROWS_AS(gunzip_bytes(bad_method.data(), bad_method.size(), "c.gz"), DataError);
    CHECK_THROWS_WITH(gunzip_bytes(bad_method.data(), bad_method.size(), "c.gz"),
                      Contains("c.gz: corrupt gzip stream"));
    Bytes bad_crc = gz;
    bad_crc[bad_crc.size() - 6] ^= 0xff;
    CHECK_THROWS_WITH(gunzip_bytes(bad_crc.data(), bad_crc.size(), "c.gz"),
                      Contains("c.gz: corrupt gzip stream"));
    for (size_t cut : {size_t(1), size_t(9), gz.size() / 2}) {
        CAPTURE(cut);
        CHECK_THROWS_WITH(gunzip_bytes(gz.data(), gz.size() - cut, "t.gz"),
                          Contains("t.gz: truncated gzip stream"));
    }
    Bytes garbage = gz;
    garbage.push_back(0);
    CHECK_THROWS_WITH(gunzip_bytes(garbage.data(), garbage.size(), "x.gz"),
                      Contains("x.gz: 1 unexpected bytes after the end of the gzip stream"));
    CHECK_THROWS_WITH(gunzip_bytes(data.data(), data.size(), "p"), Contains("p: not a gzip"));

    // A bomb: 16 MiB of zeros in ~16 KiB must stop at the limit, not inflate in full.
    Bytes bomb = gzip(Bytes(size_t(16) << 20, 0));
    CHECK(bomb.size() < 100000);
    CHECK_THROWS_AS(gunzip_bytes(bomb.data(), bomb.size(), "bomb.gz", 1 << 20), DataError);
    CHECK_THROWS_WITH(gunzip_bytes(bomb.data(), bomb.size(), "bomb.gz", 1 << 20),
                      Contains("bomb.gz: inflates to more than the limit of 1048576 bytes"));
    // A trailer that lies about the size must not size the buffer.
    Bytes liar = gzip({1, 2, 3});
    std::fill(liar.end() - 4, liar.end(), 0xff);
    CHECK_THROWS_WITH(gunzip_bytes(liar.data(), liar.size(), "l.gz"), Contains("l.gz: corrupt"));
}

TEST_CASE("idx: IdxDataset reads exact pixels and labels, plain and gzipped", "[data][idx]") {
    TempDir dir;
    for (bool gz : {false, true}) {
        CAPTURE(gz);
        write_idx_pair(dir, gz ? "gz" : "plain", gz);
        std::string ext = gz ? ".gz" : "";
        std::string p = gz ? "gz" : "plain";
        IdxDataset ds(dir / (p + "-images-idx3-ubyte" + ext),
                      dir / (p + "-labels-idx1-ubyte" + ext), digit_classes());
        check_small_idx(ds);
        CHECK(ds.classes().size() == 10);
        CHECK_THAT(ds.describe(), Contains("IDX (digits), 3 images 2x3x1: "));
    }
    CHECK(read_maybe_gzip(dir / "gz-labels-idx1-ubyte.gz") == idx_bytes({3}, kLabels));
}

TEST_CASE("idx: IdxDataset refuses mismatched files", "[data][idx]") {
    TempDir dir;
    write_idx_pair(dir, "a", false, {1, 2});  // 3 images, 2 labels
    CHECK_THROWS_AS(
        IdxDataset(dir / "a-images-idx3-ubyte", dir / "a-labels-idx1-ubyte", digit_classes()),
        DataError);
    CHECK_THROWS_WITH(
        IdxDataset(dir / "a-images-idx3-ubyte", dir / "a-labels-idx1-ubyte", digit_classes()),
        Contains("a-images-idx3-ubyte holds 3 images but " + (dir / "a-labels-idx1-ubyte") +
                 " holds 2 labels"));
    write_idx_pair(dir, "b", false, {1, 10, 2});
    CHECK_THROWS_WITH(
        IdxDataset(dir / "b-images-idx3-ubyte", dir / "b-labels-idx1-ubyte", digit_classes()),
        Contains("b-labels-idx1-ubyte: label 10 at index 1 is out of range; the "
                 "dataset has 10 classes"));
    // Swapped files: each has the wrong number of dimensions.
    CHECK_THROWS_WITH(
        IdxDataset(dir / "b-labels-idx1-ubyte", dir / "b-images-idx3-ubyte", digit_classes()),
        Contains("b-labels-idx1-ubyte: expected an images file with 3 dimensions"));
    write_file(dir / "c-images", idx_bytes({3, 2, 3}, kPixels));
    write_file(dir / "c-labels", idx_bytes({3, 1}, kLabels));
    CHECK_THROWS_WITH(IdxDataset(dir / "c-images", dir / "c-labels", digit_classes()),
                      Contains("c-labels: expected a labels file with 1 dimension"));
    CHECK_THROWS_WITH(IdxDataset(dir / "c-images", dir / "missing", digit_classes()),
                      Contains("missing: no such file"));
    CHECK_THROWS_AS(IdxDataset(dir / "c-images", dir / "c-labels", {}), qbh::Error);
}

TEST_CASE("idx: open_dataset opens IDX folders, splits and single images files", "[data][idx]") {
    TempDir dir;
    TempDir other;  // for a second root whose name does not say "fashion"
    std::string fm = dir / "My-Fashion-set";
    fs::create_directories(fm);
    write_idx_pair(dir, "My-Fashion-set/train", true);
    write_idx_pair(dir, "My-Fashion-set/t10k", false, {5, 6, 7});
    auto train = open_dataset(fm);
    check_small_idx(*train);
    CHECK(train->classes() == fashion_mnist_classes());
    CHECK(train->describe() == "IDX (Fashion-MNIST), train split, 3 images 2x3x1: " + fm +
                                   "/train-images-idx3-ubyte.gz");
    auto test = open_dataset(fm + "/", {"test", 0});
    CHECK(test->get(2).label == 7);
    CHECK_THAT(test->describe(), Contains("test split"));
    // The plain file wins when both exist.
    write_file(fm + "/train-images-idx3-ubyte", idx_bytes({3, 2, 3}, Bytes(18, 99)));
    CHECK(open_dataset(fm)->get(0).image.at(0, 0, 0) == 99);
    CHECK_THROWS_AS(open_dataset(fm, {"train", 3}), qbh::Error);
    CHECK(open_dataset(fm, {"train", 1})->size() == 3);

    write_idx_pair(other, "train", false);
    auto digits = open_dataset(other.path.string());
    CHECK(digits->classes() == digit_classes());
    CHECK_THROWS_WITH(open_dataset(other.path.string(), {"test", 0}),
                      Contains(": no t10k-images-idx3-ubyte[.gz] for the test split"));
    // A path that is an images file, with its labels next to it; the folder name still counts.
    auto single = open_dataset(fm + "/t10k-images-idx3-ubyte");
    CHECK(single->get(0).label == 5);
    CHECK(single->classes()[5] == "Sandal");
    fs::remove(other / "train-labels-idx1-ubyte");
    CHECK_THROWS_WITH(open_dataset(other / "train-images-idx3-ubyte"),
                      Contains("no labels file train-labels-idx1-ubyte[.gz] next to it"));
    CHECK_THROWS_WITH(open_dataset(other.path.string()),
                      Contains(": no train-labels-idx1-ubyte[.gz] next to"));
    write_file(other / "notes.txt", {1});
    CHECK_THROWS_AS(open_dataset(other / "notes.txt"), DataError);
    CHECK_THROWS_WITH(open_dataset(other / "notes.txt"), Contains("notes.txt: not a dataset"));
}

TEST_CASE("idx: CIFAR-10 batches give exact HWC pixels and labels", "[data][idx]") {
    TempDir dir;
    write_file(dir / "data_batch_1.bin", cifar_bytes({{3}, {9}}));
    write_file(dir / "data_batch_3.bin", cifar_bytes({{0}}));  // batches 2, 4, 5 missing
    write_file(dir / "test_batch.bin", cifar_bytes({{4}}));
    auto train = open_dataset(dir.path.string());
    REQUIRE(train->size() == 3);
    check_cifar_example(train->get(0), 0, 3);
    check_cifar_example(train->get(1), 1, 9);
    check_cifar_example(train->get(2), 0, 0);  // first record of the second file
    CHECK(train->classes() == cifar10_classes());
    CHECK(train->classes()[9] == "truck");
    CHECK_THAT(train->describe(), Contains("CIFAR-10, train split, 3 images 32x32x3: "));
    CHECK_THROWS_AS(train->get(3), qbh::Error);
    auto test = open_dataset(dir.path.string(), {"test", 3});
    REQUIRE(test->size() == 1);
    check_cifar_example(test->get(0), 0, 4);
    CHECK_THROWS_AS(open_dataset(dir.path.string(), {"train", 1}), qbh::Error);
    fs::remove(dir / "test_batch.bin");
    CHECK_THROWS_WITH(open_dataset(dir.path.string(), {"test", 0}),
                      Contains("no CIFAR-10 test batch (test_batch.bin)"));
}

TEST_CASE("idx: CIFAR-100 uses the fine label", "[data][idx]") {
    TempDir dir;
    write_file(dir / "cifar-100-binary/train.bin", cifar_bytes({{19, 99}, {0, 4}}));
    write_file(dir / "cifar-100-binary/test.bin", cifar_bytes({{1, 50}}));
    auto train = open_dataset(dir.path.string());  // the archive's sub-folder is found
    REQUIRE(train->size() == 2);
    check_cifar_example(train->get(0), 0, 99);
    check_cifar_example(train->get(1), 1, 4);
    CHECK(train->classes()[99] == "worm");
    auto test = open_dataset(dir / "cifar-100-binary", {"test", 0});
    check_cifar_example(test->get(0), 0, 50);
    CHECK_THAT(test->describe(), Contains("CIFAR-100, test split, 1 images"));
}

TEST_CASE("idx: parse_cifar refuses bad sizes and labels", "[data][idx]") {
    CHECK(cifar_record_bytes(CifarKind::cifar10) == 3073);
    CHECK(cifar_record_bytes(CifarKind::cifar100) == 3074);
    Bytes two = cifar_bytes({{1}, {2}});
    CifarRecords r = parse_cifar(two.data(), two.size(), CifarKind::cifar10, "b");
    CHECK(r.count == 2);
    CHECK(r.labels == std::vector<int64_t>{1, 2});
    CHECK(r.pixels[3072 + 5] == cifar_value(1, 0, 5));
    auto parse10 = [](const Bytes& b) {
        return parse_cifar(b.data(), b.size(), CifarKind::cifar10, "d.bin");
    };
    CHECK_THROWS_AS(parse10(Bytes(two.begin(), two.end() - 1)), DataError);
    CHECK_THROWS_WITH(parse10(Bytes(two.begin(), two.end() - 1)),
                      Contains("d.bin: 6145 bytes is not a whole number of 3073-byte CIFAR-10 "
                               "records"));
    CHECK_THROWS_WITH(parse10({}), Contains("d.bin: empty file"));
    CHECK_THROWS_WITH(parse10(cifar_bytes({{1}, {10}})),
                      Contains("d.bin: record 1 has label 10; CIFAR-10 labels are 0..9"));
    Bytes c100 = cifar_bytes({{20, 3}});
    CHECK_THROWS_WITH(parse_cifar(c100.data(), c100.size(), CifarKind::cifar100, "e.bin"),
                      Contains("e.bin: record 0 has coarse label 20 and fine label 3"));
    c100 = cifar_bytes({{2, 100}});
    CHECK_THROWS_AS(parse_cifar(c100.data(), c100.size(), CifarKind::cifar100, "e.bin"), DataError);
    // Through open_dataset the message names the file.
    TempDir dir;
    write_file(dir / "test_batch.bin", Bytes(3074, 0));
    CHECK_THROWS_WITH(open_dataset(dir.path.string(), {"test", 0}),
                      Contains(dir / "test_batch.bin" + ": 3074 bytes is not a whole number"));
}

TEST_CASE("idx: open_dataset refuses missing, empty and unrecognised paths", "[data][idx]") {
    TempDir dir;
    CHECK_THROWS_AS(open_dataset(dir / "none"), DataError);
    CHECK_THROWS_WITH(open_dataset(dir / "none"), Contains("none: no such file or folder"));
    CHECK_THROWS_WITH(open_dataset("/usr/share/datasets/qbh-missing"),
                      Contains("apt-get install dataset-fashion-mnist"));
    CHECK_THROWS_AS(open_dataset(""), DataError);
    CHECK_THROWS_WITH(open_dataset(dir.path.string()),
                      Contains(dir.path.string() + ": empty folder; expected IDX files, CIFAR "
                                                   "batches or <class>/ sub-folders of images"));
    CHECK_THROWS_AS(open_dataset(dir.path.string(), {"val", 0}), qbh::Error);
    CHECK_THROWS_WITH(open_dataset(dir.path.string(), {"val", 0}),
                      Contains("unknown split 'val'; valid splits: train, test"));
    write_file(dir / "readme.txt", {1, 2});
    CHECK_THROWS_WITH(open_dataset(dir.path.string()),
                      Contains(": no dataset found; expected IDX files"));
    fs::create_directories(dir / "cats");
    CHECK_THROWS_WITH(open_dataset(dir.path.string(), {"test", 0}),
                      Contains(": no test split: an image folder without train/ and test/"));
}

TEST_CASE("idx: class name lists", "[data][idx]") {
    CHECK(fashion_mnist_classes().size() == 10);
    CHECK(fashion_mnist_classes()[0] == "T-shirt/top");
    CHECK(fashion_mnist_classes()[9] == "Ankle boot");
    CHECK(digit_classes() ==
          std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
    CHECK(cifar10_classes()[0] == "airplane");
    std::vector<std::string> c100 = cifar100_classes();
    REQUIRE(c100.size() == 100);
    CHECK(std::is_sorted(c100.begin(), c100.end()));
    CHECK(std::adjacent_find(c100.begin(), c100.end()) == c100.end());
    CHECK(c100[0] == "apple");
    CHECK(c100[1] == "aquarium_fish");
    CHECK(c100[58] == "pickup_truck");
}

TEST_CASE("idx: the installed Fashion-MNIST opens with the right sizes", "[data][idx]") {
    if (!fs::exists(kDefaultDatasetPath)) {
        WARN("SKIPPED: Fashion-MNIST not installed");
        return;
    }
    auto train = open_dataset(kDefaultDatasetPath);
    auto test = open_dataset(kDefaultDatasetPath, {"test", 0});
    CHECK(train->size() == 60000);
    CHECK(test->size() == 10000);
    Example first = train->get(0);
    CHECK(first.image.shape_str() == "28x28x1 u8");
    CHECK(first.label == 9);
    CHECK(train->classes()[first.label] == "Ankle boot");
    CHECK(train->describe() ==
          "IDX (Fashion-MNIST), train split, 60000 images 28x28x1: "
          "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}
