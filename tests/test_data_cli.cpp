// Tests of data/inspect.h (on in-test datasets with known pixels) and of the qbheat program
// itself (run with popen on a tiny IDX folder written here): output, exit codes and errors.
// A private copy of stb_image for reading back the PNG grid (static: no clash with the library's).
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/decode/data_error.h"
#include "data/inspect.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace qbh::data;
using Catch::Contains;

namespace {

// A dataset held in memory; get(bad_index) throws a DataError naming a file.
class VecDataset : public Dataset {
  public:
    VecDataset(std::vector<Example> examples, std::vector<std::string> classes)
        : examples_(std::move(examples)), classes_(std::move(classes)) {}
    int64_t size() const override { return static_cast<int64_t>(examples_.size()); }
    Example get(int64_t index) const override {
        QBH_DATA_CHECK(index != bad_index, "broken.png: corrupt PNG data");
        return examples_.at(index);
    }
    const std::vector<std::string>& classes() const override { return classes_; }
    std::string describe() const override { return "in-test dataset"; }
    int64_t bad_index = -1;

  private:
    std::vector<Example> examples_;
    std::vector<std::string> classes_;
};

Image u8_image(int h, int w, int c, const std::vector<uint8_t>& values) {
    Image image(h, w, c);
    REQUIRE(values.size() == image.num_values());
    std::copy(values.begin(), values.end(), image.u8());
    return image;
}

using qbh::test::TempDir;

}  // namespace

TEST_CASE("inspect_dataset: counts, classes and exact grey mean/std", "[data][cli]") {
    // Values / 255: {0,1,1,0}, {.2,.2,.4,.4}, {1,1,1,1}: sum 7.2, sum of squares 6.4, n = 12.
    VecDataset ds({{u8_image(2, 2, 1, {0, 255, 255, 0}), 0},
                   {u8_image(2, 2, 1, {51, 51, 102, 102}), 1},
                   {u8_image(2, 2, 1, {255, 255, 255, 255}), 0}},
                  {"cat", "dog", "eel"});
    InspectReport r = inspect_dataset(ds);
    CHECK(r.description == "in-test dataset");
    CHECK(r.dataset_size == 3);
    CHECK(r.samples == 3);
    CHECK(r.classes == std::vector<std::string>{"cat", "dog", "eel"});
    CHECK(r.class_counts == std::vector<int64_t>{2, 1, 0});
    CHECK(r.same_shape());
    CHECK(r.min_shape == ImageShape{2, 2, 1});
    REQUIRE(r.mean.size() == 1);
    REQUIRE(r.std.size() == 1);
    CHECK(r.mean[0] == Approx(0.6).epsilon(1e-12));
    CHECK(r.std[0] == Approx(std::sqrt(6.4 / 12 - 0.36)).epsilon(1e-12));

    // --limit: only the first two samples count.
    InspectOptions options;
    options.limit = 2;
    InspectReport first = inspect_dataset(ds, options);
    CHECK(first.samples == 2);
    CHECK(first.dataset_size == 3);
    CHECK(first.class_counts == std::vector<int64_t>{1, 1, 0});
    CHECK(first.mean[0] == Approx(3.2 / 8).epsilon(1e-12));
}

TEST_CASE("inspect_dataset: per-channel statistics of RGB and f32 images", "[data][cli]") {
    Image f(1, 1, 3, PixelType::f32);
    f.f32()[0] = 0.5f, f.f32()[1] = 0.25f, f.f32()[2] = 0.2f;
    VecDataset ds({{u8_image(1, 2, 3, {255, 0, 51, 0, 0, 51}), 0}, {f, 0}}, {"only"});
    InspectReport r = inspect_dataset(ds);
    REQUIRE(r.mean.size() == 3);
    // Channel 0: {1, 0, 0.5}; channel 1: {0, 0, 0.25}; channel 2: {0.2, 0.2, 0.2}.
    CHECK(r.mean[0] == Approx(0.5).epsilon(1e-7));
    CHECK(r.std[0] == Approx(std::sqrt(1.25 / 3 - 0.25)).epsilon(1e-7));
    CHECK(r.mean[1] == Approx(0.25 / 3).epsilon(1e-7));
    CHECK(r.std[1] == Approx(std::sqrt(0.0625 / 3 - 0.0625 / 9)).epsilon(1e-7));
    CHECK(r.mean[2] == Approx(0.2).epsilon(1e-7));
    CHECK(r.std[2] == Approx(0.0).margin(1e-7));
    CHECK(!r.same_shape());
    CHECK(r.min_shape == ImageShape{1, 1, 3});
    CHECK(r.max_shape == ImageShape{1, 2, 3});
}

TEST_CASE("format_report: fixed and varying shapes, equal and unequal counts", "[data][cli]") {
    VecDataset fixed({{u8_image(2, 2, 1, {0, 255, 255, 0}), 0},
                      {u8_image(2, 2, 1, {51, 51, 102, 102}), 1},
                      {u8_image(2, 2, 1, {255, 255, 255, 255}), 0}},
                     {"cat", "dog"});
    CHECK(format_report(inspect_dataset(fixed)) ==
          "dataset: in-test dataset\n"
          "samples: 3\n"
          "classes: 2 (cat, dog)\n"
          "class counts: 2 1\n"
          "image shape: 2x2x1 (all samples)\n"
          "pixel mean/std per channel (on [0,1] scale): 0.6000 / 0.4163\n");

    VecDataset varying({{u8_image(2, 3, 1, {0, 0, 0, 0, 0, 0}), 0},
                        {u8_image(4, 1, 3, std::vector<uint8_t>(12, 255)), 1}},
                       {"a", "b"});
    InspectOptions options;
    options.limit = 5;  // more than there are: all
    std::string text = format_report(inspect_dataset(varying, options));
    CHECK_THAT(text, Contains("samples: 2\n"));
    CHECK_THAT(text, Contains("class counts: 1 each\n"));
    CHECK_THAT(text, Contains("image shape: varies: 2x1x1 .. 4x3x3\n"));
    CHECK_THAT(text, Contains("scale): 0.4000 1.0000 1.0000 / 0.4899 0.0000 0.0000\n"));

    options.limit = 1;
    CHECK_THAT(format_report(inspect_dataset(varying, options)),
               Contains("samples: 1 (first 1 of 2)\n"));
}

TEST_CASE("inspect_dataset: same result for any thread count", "[data][cli]") {
    std::vector<Example> examples;
    uint64_t state = 12345;
    for (int i = 0; i < 1000; ++i) {  // four chunks of 256 samples
        Image image(3, 3, 1, PixelType::f32);
        for (size_t k = 0; k < image.num_values(); ++k) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            image.f32()[k] = static_cast<float>(state >> 40) / float(1 << 24);
        }
        examples.push_back({image, i % 7});
    }
    VecDataset ds(examples, {"0", "1", "2", "3", "4", "5", "6"});
    InspectOptions one, many;
    one.threads = 1;
    many.threads = 3;
    InspectReport a = inspect_dataset(ds, one), b = inspect_dataset(ds, many);
    CHECK(a.mean[0] == b.mean[0]);  // bit for bit
    CHECK(a.std[0] == b.std[0]);
    CHECK(a.class_counts == b.class_counts);
    CHECK(a.class_counts[0] == 143);
    CHECK(a.mean[0] == Approx(0.5).margin(0.02));
}

TEST_CASE("inspect_dataset: bad samples, labels and empty datasets throw", "[data][cli]") {
    std::vector<Example> examples(600, Example{u8_image(1, 1, 1, {7}), 0});
    VecDataset ds(examples, {"x"});
    ds.bad_index = 517;  // in the third chunk
    InspectOptions options;
    options.threads = 2;
    CHECK_THROWS_AS(inspect_dataset(ds, options), DataError);
    CHECK_THROWS_WITH(inspect_dataset(ds, options), Contains("broken.png: corrupt"));
    options.limit = 500;  // the bad sample is beyond the limit
    CHECK(inspect_dataset(ds, options).samples == 500);

    VecDataset bad_label({{u8_image(1, 1, 1, {7}), 3}}, {"x", "y"});
    CHECK_THROWS_AS(inspect_dataset(bad_label), qbh::Error);
    CHECK_THROWS_WITH(inspect_dataset(bad_label), Contains("label 3") && Contains("2 classes"));
    VecDataset empty({}, {"x"});
    CHECK_THROWS_WITH(inspect_dataset(empty), Contains("no samples"));
}

TEST_CASE("grid_indices and sample_grid: spread samples, ceil(sqrt) columns", "[data][cli]") {
    std::vector<int64_t> idx = grid_indices(60000, 64);
    REQUIRE(idx.size() == 64);
    CHECK(idx[0] == 0);
    CHECK(idx[1] == 937);
    CHECK(idx[63] == 59062);
    CHECK(grid_indices(3, 10) == std::vector<int64_t>{0, 1, 2});
    CHECK_THROWS_AS(grid_indices(3, 0), qbh::Error);

    std::vector<Example> examples;
    for (int i = 0; i < 20; ++i)
        examples.push_back({u8_image(2, 2, 1, std::vector<uint8_t>(4, uint8_t(i * 10))), 0});
    VecDataset ds(examples, {"x"});
    SampleGrid grid = sample_grid(ds, 10);  // samples 0, 2, ..., 18; 4 columns, 3 rows
    CHECK(grid.count == 10);
    CHECK(grid.columns == 4);
    CHECK(grid.rows == 3);
    CHECK(grid.image.height() == 3 * 2 + 2 * 2);
    CHECK(grid.image.width() == 4 * 2 + 3 * 2);
    CHECK(grid.image.at(0, 0, 0) == 0);
    CHECK(grid.image.at(0, 4, 0) == 20);       // second tile: sample 2
    CHECK(grid.image.at(4, 13, 0) == 7 * 20);  // row 1, column 3: sample 14
    CHECK(grid.image.at(0, 2, 0) == 255);      // the gap

    // Different sizes: the 1x1 tile is centred on a black 3x3 canvas.
    VecDataset mixed(
        {{u8_image(3, 3, 1, std::vector<uint8_t>(9, 100)), 0}, {u8_image(1, 1, 1, {200}), 0}},
        {"x"});
    SampleGrid m = sample_grid(mixed, 2);
    CHECK(m.columns == 2);
    CHECK(m.image.height() == 3);
    CHECK(m.image.width() == 8);
    CHECK(m.image.at(1, 6, 0) == 200);
    CHECK(m.image.at(0, 5, 0) == 0);
    CHECK_THROWS_AS(sample_grid(mixed, 0), qbh::Error);
}

// ---- the qbheat program ----
#ifdef QBH_CLI_PATH
namespace {

struct CliResult {
    int code = -1;
    std::string output;  // stdout and stderr together
};

CliResult run_cli(const std::string& args) {
    std::string command = std::string("'") + QBH_CLI_PATH + "' " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    CliResult result;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        result.output.append(buffer, n);
    int status = pclose(pipe);
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    UNSCOPED_INFO("qbheat " << args << "\n" << result.output);  // shown by the next check
    return result;
}

void put_be32(std::vector<uint8_t>& bytes, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(uint8_t(v >> shift));
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// An IDX image file (type 0x08, 3 dimensions) where image k has every pixel = 51 * k, and the
// matching label file.
void write_idx_pair(const fs::path& dir, const std::string& prefix, int rows, int cols,
                    const std::vector<uint8_t>& labels) {
    std::vector<uint8_t> images = {0, 0, 0x08, 3};
    put_be32(images, uint32_t(labels.size()));
    put_be32(images, uint32_t(rows));
    put_be32(images, uint32_t(cols));
    for (size_t k = 0; k < labels.size(); ++k) images.insert(images.end(), rows * cols, 51 * k);
    write_bytes(dir / (prefix + "-images-idx3-ubyte"), images);
    std::vector<uint8_t> label_bytes = {0, 0, 0x08, 1};
    put_be32(label_bytes, uint32_t(labels.size()));
    label_bytes.insert(label_bytes.end(), labels.begin(), labels.end());
    write_bytes(dir / (prefix + "-labels-idx1-ubyte"), label_bytes);
}

}  // namespace

TEST_CASE("qbheat: --help, --version, no command", "[data][cli]") {
    CliResult help = run_cli("--help");
    CHECK(help.code == 0);
    CHECK_THAT(help.output, Contains("QB-Heat") && Contains("data"));
    CliResult version = run_cli("--version");
    CHECK(version.code == 0);
    CHECK_THAT(version.output, Contains(std::string("qbheat ") + QBH_VERSION + "\n"));
    CHECK_THAT(version.output, Contains("CUDA"));
    CliResult bare = run_cli("");
    CHECK(bare.code == 1);
    CHECK_THAT(bare.output, Contains("Usage") && Contains("data"));
    CliResult data = run_cli("data");
    CHECK(data.code == 1);
    CHECK_THAT(data.output, Contains("inspect"));
}

TEST_CASE("qbheat data inspect: a tiny IDX folder, statistics and PNG grid", "[data][cli]") {
    TempDir tmp;
    fs::path dir = tmp.path / "tiny-digits";
    fs::create_directories(dir);
    // Pixels 0, .2, .4, .6, .8: mean 0.4, std sqrt(0.24 - 0.16).
    write_idx_pair(dir, "train", 3, 2, {0, 1, 1, 2, 9});
    write_idx_pair(dir, "t10k", 3, 2, {4, 5});
    fs::path png = tmp.path / "grid.png";
    CliResult r =
        run_cli("data inspect '" + dir.string() + "' --grid '" + png.string() + "' --grid-count 5");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, Contains("dataset: ") && Contains(dir.string()));
    CHECK_THAT(r.output, Contains("\nsamples: 5\n"));
    CHECK_THAT(r.output, Contains("\nclasses: 10 ("));
    CHECK_THAT(r.output, Contains("\nclass counts: 1 2 1 0 0 0 0 0 0 1\n"));
    CHECK_THAT(r.output, Contains("\nimage shape: 3x2x1 (all samples)\n"));
    CHECK_THAT(r.output, Contains("(on [0,1] scale): 0.4000 / 0.2828\n"));
    CHECK_THAT(r.output, Contains("grid: wrote 5 samples to " + png.string() + " (2x3)\n"));
    int width = 0, height = 0, channels = 0;
    uint8_t* pixels = stbi_load(png.string().c_str(), &width, &height, &channels, 0);
    REQUIRE(pixels != nullptr);
    stbi_image_free(pixels);
    CHECK(height == 2 * 3 + 2);  // 2 rows of 3-pixel tiles, a 2-pixel gap
    CHECK(width == 3 * 2 + 2 * 2);

    CliResult test = run_cli("data inspect '" + dir.string() + "' --split test --limit 1");
    REQUIRE(test.code == 0);
    CHECK_THAT(test.output, Contains("\nsamples: 1 (first 1 of 2)\n"));
    CHECK_THAT(test.output, Contains("(on [0,1] scale): 0.0000 / 0.0000\n"));
}

TEST_CASE("qbheat data inspect: errors and exit codes", "[data][cli]") {
    TempDir tmp;
    std::string missing = (tmp.path / "no-such-dataset").string();
    CliResult r = run_cli("data inspect '" + missing + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("qbheat: error: ") && Contains(missing));

    fs::create_directories(tmp.path / "empty");
    r = run_cli("data inspect '" + (tmp.path / "empty").string() + "'");
    CHECK(r.code == 1);
    CHECK_THAT(r.output, Contains("qbheat: error: ") && Contains("empty"));

    r = run_cli("data inspect --no-such-option");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains("--no-such-option"));
    r = run_cli("--bogus");
    CHECK(r.code == 2);
    r = run_cli("data inspect --split bogus");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains("--split") && Contains("bogus") && Contains("train,test"));
    r = run_cli("data inspect --limit 0");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Contains("--limit"));
}

TEST_CASE("qbheat data inspect: Fashion-MNIST, first 1000 samples", "[data][cli]") {
    fs::path dir = kDefaultDatasetPath;
    if (!fs::exists(dir / "train-images-idx3-ubyte.gz") &&
        !fs::exists(dir / "train-images-idx3-ubyte")) {
        WARN("SKIPPED: Fashion-MNIST not installed");
        return;
    }
    CliResult r = run_cli("data inspect --limit 1000");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, Contains("\nsamples: 1000 (first 1000 of 60000)\n"));
    CHECK_THAT(r.output, Contains("\nclasses: 10 (T-shirt/top, Trouser, Pullover"));
    CHECK_THAT(r.output, Contains("\nimage shape: 28x28x1 (all samples)\n"));
}
#endif  // QBH_CLI_PATH
