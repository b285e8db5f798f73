// safetensors I/O: round trips of every dtype and layout, metadata, Python interop (a golden file
// written by safetensors.torch), atomic saves, and one hand-crafted bad file per load error.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/io/safetensors.h"
#include "tests/test_util.h"

using namespace qbh;
namespace fs = std::filesystem;

namespace {

using qbh::test::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

// A file with the given header text (unpadded; JSON allows none) and data bytes.
std::string file_bytes(const std::string& header, const std::string& data) {
    return u64_le(header.size()) + header + data;
}

// '"name":body' for a header entry, and '{e1,e2,...}' for a header (built by appends).
std::string entry(const std::string& name, const std::string& body) {
    std::string s = "\"";
    s.append(name).append("\":").append(body);
    return s;
}
std::string object(const std::vector<std::string>& entries) {
    std::string s = "{";
    for (size_t i = 0; i < entries.size(); ++i) s.append(i ? "," : "").append(entries[i]);
    return s.append("}");
}

std::string f32_bytes(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

// Writes `bytes` to a file in `dir` and returns the error load_safetensors gives for it.
std::string load_error(const TempDir& dir, const std::string& bytes) {
    std::string path = dir.file("bad.safetensors");
    write_bytes(path, bytes);
    try {
        io::load_safetensors(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("io: round trip of f32, f64, i64, bf16, 0-d, empty and non-contiguous tensors", "[io]") {
    TempDir dir;
    Tensor f32 = test::randn({3, 4}, 1, DType::f32);
    Tensor f64 = test::randn({2, 3, 2}, 2, DType::f64);
    Tensor i64 = Tensor::from_vector({-3, 0, 1099511627776.0, 7}, {4}, DType::i64);
    Tensor bf = Tensor::from_vector({1.0, -2.5, 0.15625, 3e20}, {2, 2}, DType::bf16);
    Tensor scalar = Tensor::scalar(2.75, DType::f64);
    Tensor empty = Tensor::zeros({0, 5}, DType::f32);
    Tensor nc = test::noncontiguous(test::randn({3, 2}, 3, DType::f32));
    REQUIRE(!nc.is_contiguous());
    Tensor transposed = test::randn({2, 3}, 4).transpose(0, 1);
    io::NamedTensors in = {
        {"f32", f32},       {"f64", f64},     {"i64", i64},      {"bf16", bf},
        {"scalar", scalar}, {"empty", empty}, {"noncontig", nc}, {"transposed", transposed}};
    std::string path = dir.file("model.safetensors");
    io::save_safetensors(path, in);
    std::ifstream raw(path, std::ios::binary);
    uint64_t header_len = 0;
    raw.read(reinterpret_cast<char*>(&header_len), 8);
    CHECK(header_len % 8 == 0);  // padded with spaces, as the format asks
    io::SafetensorsFile out = io::load_safetensors(path);
    REQUIRE(out.tensors.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        INFO(in[i].first);
        CHECK(out.tensors[i].first == in[i].first);  // the given order survives the round trip
        const Tensor& t = out.tensors[i].second;
        CHECK(t.dtype() == in[i].second.dtype());
        CHECK(t.shape() == in[i].second.shape());
        CHECK(t.is_contiguous());
        CHECK(t.to_vector() == in[i].second.to_vector());  // bit-exact values
    }
    CHECK(out.at("bf16").to_vector() == std::vector<double>{1.0, -2.5, 0.15625, bf.at({1, 1})});
    CHECK(out.at("scalar").item() == 2.75);
    CHECK(out.metadata.empty());
    CHECK(out.to_map().size() == in.size());
    CHECK(out.contains("i64"));
    CHECK_FALSE(out.contains("nope"));
    CHECK_THROWS_WITH(out.at("nope"), Catch::Contains("no tensor named 'nope'") &&
                                          Catch::Contains("f32, f64, i64"));
}

TEST_CASE("io: metadata round trip and overwrite of an existing file", "[io]") {
    TempDir dir;
    std::string path = dir.file("ckpt.safetensors");
    io::save_safetensors(path, {{"a", Tensor::ones({2})}}, {{"step", "12"}, {"note", "q\"b\n"}});
    io::save_safetensors(path, {{"b", Tensor::zeros({3})}}, {{"step", "13"}, {"empty", ""}});
    io::SafetensorsFile f = io::load_safetensors(path);
    CHECK(f.metadata == std::map<std::string, std::string>{{"step", "13"}, {"empty", ""}});
    REQUIRE(f.tensors.size() == 1);
    CHECK(f.tensors[0].first == "b");
    CHECK(dir.listing() == std::vector<std::string>{"ckpt.safetensors"});
    io::save_safetensors(path, {}, {});  // an empty file is valid too
    CHECK(io::load_safetensors(path).tensors.empty());
}

TEST_CASE("io: loads a file written by Python safetensors.torch.save_file", "[io][golden]") {
    // Written by tools/golden/io_small.py.
    io::SafetensorsFile f = io::load_safetensors(test::golden_path("io_small.safetensors"));
    CHECK(f.metadata ==
          std::map<std::string, std::string>{{"format", "pt"}, {"made_by", "io_small.py"}});
    std::vector<std::string> names;
    for (const auto& [n, t] : f.tensors) names.push_back(n);
    // File order = data offset order (Python sorts by alignment, then name).
    CHECK(names == std::vector<std::string>{"index", "bias", "empty", "scalar", "weight"});
    const Tensor& w = f.at("weight");
    CHECK(w.dtype() == DType::f32);
    CHECK(w.shape() == Shape{2, 3});
    CHECK(w.to_vector() == std::vector<double>{-0.5, -0.25, 0, 0.25, 0.5, 0.75});
    CHECK(f.at("bias").dtype() == DType::f64);
    CHECK(f.at("bias").to_vector() == std::vector<double>{1.5, -2.25});
    CHECK(f.at("index").dtype() == DType::i64);
    CHECK(f.at("index").to_vector() == std::vector<double>{0, -1, 1099511627776.0, 7});
    CHECK(f.at("scalar").shape().empty());
    CHECK(f.at("scalar").item() == 3.0);
    CHECK(f.at("empty").shape() == Shape{0, 4});
}

TEST_CASE("io: a failed save leaves the existing file and no temp file", "[io]") {
    TempDir dir;
    std::string path = dir.file("keep.safetensors");
    io::save_safetensors(path, {{"w", Tensor::full({2}, 4.0)}});
    CHECK_THROWS_WITH(io::save_safetensors(path, {{"w", Tensor::ones({2})}, {"x", Tensor()}}),
                      Catch::Contains("tensor 'x' is undefined") && Catch::Contains(path));
    CHECK_THROWS_WITH(io::save_safetensors(path, {{"w", Tensor::ones({2})}, {"w", Tensor()}}),
                      Catch::Contains("'w' appears twice"));
    CHECK_THROWS_WITH(io::save_safetensors(path, {{"", Tensor::ones({2})}}),
                      Catch::Contains("invalid tensor name"));
    CHECK_THROWS_WITH(io::save_safetensors(path, {{"__metadata__", Tensor::ones({2})}}),
                      Catch::Contains("invalid tensor name"));
    CHECK_THROWS_WITH(io::save_safetensors(path, {{"w", Tensor::ones({2})}}, {{"k", "\xff"}}),
                      Catch::Contains("UTF-8"));
    std::string missing = dir.file("no/such/dir/x.safetensors");
    CHECK_THROWS_WITH(io::save_safetensors(missing, {{"w", Tensor::ones({2})}}),
                      Catch::Contains("cannot create") && Catch::Contains("directory exists"));
    // The target is a directory: the write succeeds but the rename fails; the temp must go.
    fs::create_directory(dir.file("adir"));
    CHECK_THROWS_WITH(io::save_safetensors(dir.file("adir"), {{"w", Tensor::ones({2})}}),
                      Catch::Contains("cannot rename"));
    CHECK(io::load_safetensors(path).at("w").to_vector() == std::vector<double>{4, 4});
    CHECK(dir.listing() == std::vector<std::string>{"adir", "keep.safetensors"});
}

TEST_CASE("io: tensors in any header order load in data order", "[io]") {
    TempDir dir;
    // JSON order b, a; data order a (offset 0), b (offset 4); padding-free header.
    std::string header = R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                         R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})";
    std::string path = dir.file("order.safetensors");
    write_bytes(path, file_bytes(header, f32_bytes({1.5f, -2.0f})));
    io::SafetensorsFile f = io::load_safetensors(path);
    REQUIRE(f.tensors.size() == 2);
    CHECK(f.tensors[0].first == "a");
    CHECK(f.tensors[0].second.item() == 1.5);
    CHECK(f.tensors[1].first == "b");
    CHECK(f.tensors[1].second.to_vector() == std::vector<double>{-2.0});
}

TEST_CASE("io: every malformed file is a clear error", "[io][errors]") {
    TempDir dir;
    const std::string ok_a = entry("a", R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})");
    const std::string data8 = f32_bytes({1, 2});
    auto one = [&](const std::string& body, const std::string& data = f32_bytes({1, 2})) {
        return file_bytes(object({entry("t", body)}), data);
    };
    using Catch::Contains;

    CHECK_THROWS_WITH(io::load_safetensors(dir.file("missing.safetensors")),
                      Contains("missing.safetensors") && Contains("no such file"));
    CHECK_THROWS_WITH(io::load_safetensors(dir.path.string()), Contains("not a regular file"));
    CHECK_THAT(load_error(dir, "abc"), Contains("3 bytes, fewer than the 8-byte"));
    CHECK_THAT(load_error(dir, u64_le(200'000'000) + "{}"), Contains("100000000-byte limit"));
    CHECK_THAT(load_error(dir, u64_le(50) + "{}"), Contains("larger than the file"));
    CHECK_THAT(load_error(dir, file_bytes("{\"a\": ", "")), Contains("not valid JSON"));
    CHECK_THAT(load_error(dir, file_bytes("[1, 2]", "")), Contains("expected an object"));
    CHECK_THAT(load_error(dir, file_bytes(object({entry("t", "[1]")}), "")),
               Contains("entry 't'") && Contains("expected an object"));
    CHECK_THAT(load_error(dir, one(R"({"shape":[2],"data_offsets":[0,8]})")),
               Contains("tensor 't' has no 'dtype' field"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","data_offsets":[0,8]})")),
               Contains("no 'shape' field"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[2]})")),
               Contains("no 'data_offsets' field"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":32,"shape":[2],"data_offsets":[0,8]})")),
               Contains("non-string dtype"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F16","shape":[4],"data_offsets":[0,8]})")),
               Contains("dtype 'F16'") && Contains("tensor.float()"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})")),
               Contains("expected an array of sizes"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})")),
               Contains("non-integer size"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})")),
               Contains("negative size"));
    CHECK_THAT(
        load_error(dir,
                   one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})")),
        Contains("absurd shape"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[0,9223372036854775808],)"
                                   R"("data_offsets":[0,0]})")),
               Contains("absurd shape"));
    CHECK_THAT(
        load_error(dir,
                   one(R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]})")),
        Contains("absurd shape"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})")),
               Contains("expected [begin, end]"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,-8]})")),
               Contains("expected [begin, end]"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})")),
               Contains("end < begin"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})")),
               Contains("beyond the data buffer (8 bytes)"));
    CHECK_THAT(load_error(dir, one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})")),
               Contains("holds 8 bytes") && Contains("need 12"));
    // Truncated: the header promises 8 bytes of data, the file has 5.
    CHECK_THAT(load_error(dir, file_bytes(object({ok_a}), data8.substr(0, 5))),
               Contains("truncated"));
    std::string overlap =
        object({ok_a, entry("b", R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})")});
    CHECK_THAT(load_error(dir, file_bytes(overlap, data8)), Contains("overlap"));
    std::string twice = object({ok_a, ok_a});
    CHECK_THAT(load_error(dir, file_bytes(twice, data8)), Contains("names 'a' twice"));
    CHECK_THAT(load_error(dir, file_bytes(R"({"__metadata__":{"k":1}})", "")),
               Contains("metadata 'k'") && Contains("expected a string"));
    CHECK_THAT(load_error(dir, file_bytes(R"({"__metadata__":[]})", "")),
               Contains("expected an object of strings"));
    // Every message names the file.
    CHECK_THAT(load_error(dir, "abc"), Contains("bad.safetensors"));
    // Sanity: the helper's good file loads, so the errors above come from the defects.
    CHECK_THAT(load_error(dir, file_bytes(object({ok_a}), data8)), Contains("(no error)"));
}
