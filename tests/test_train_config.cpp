// train/run_config: presets, the JSON <-> struct table (round trip, every value type), "did you
// mean" for unknown keys, refused impossible configs naming their key, file errors with line
// numbers, precedence preset < file < --set, and the atomic save.
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/test_util.h"
#include "train/run_config.h"

using namespace qbh;
using namespace qbh::train;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

using qbh::test::TempDir;

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

RunConfig with(const std::string& assignment) {
    RunConfig c = preset("quick");
    apply_override(c, assignment);
    return c;
}

}  // namespace

TEST_CASE("config: presets validate and hold the documented sizes", "[train][config]") {
    RunConfig quick = preset("quick");
    RunConfig full = preset("full");
    CHECK_NOTHROW(validate(quick));
    CHECK_NOTHROW(validate(full));
    CHECK_NOTHROW(validate(RunConfig{}));
    CHECK(quick.model.width == 128);
    CHECK(quick.model.depth == 4);
    CHECK(quick.model.heads == 4);
    CHECK(quick.model.patch_size == 4);
    CHECK(quick.decoder.width == 96);
    CHECK(quick.decoder.depth == 1);
    CHECK(quick.optim.epochs == 6);
    CHECK(quick.probe.epochs == 10);
    CHECK(quick.data.pad == 2);
    CHECK(quick.data.limit_train == 0);
    CHECK(quick.data.path == std::string(data::kDefaultDatasetPath));
    CHECK(full.model.width == 192);
    CHECK(full.model.depth == 6);
    CHECK(full.model.heads == 3);
    CHECK(full.optim.epochs == 100);
    CHECK(preset_names() == std::vector<std::string>{"quick", "full"});
    CHECK_THROWS_WITH(preset("tiny"),
                      Contains("unknown preset 'tiny'") && Contains("expected quick or full"));
}

TEST_CASE("config: the key table, to_json and merge_json round trip", "[train][config]") {
    std::vector<std::string> keys = config_keys();
    CHECK(keys.size() == 52);
    CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == keys.size());
    CHECK(keys.front() == "job");
    CHECK(std::find(keys.begin(), keys.end(), "model.encoder") != keys.end());

    RunConfig a = preset("full");
    a.model.kind = "cnn";
    a.model.mlp_ratio = 2.5;
    a.heat.norm = true;
    a.data.limit_train = 5000000000;  // beyond int32
    a.seed = 18446744073709551615ull;
    a.data.path = "/tmp/fm";
    a.optim.name = "lars";
    a.knn.temperature = 0.5;
    json j = to_json(a);
    CHECK(j["model"]["encoder"] == "cnn");
    CHECK(j["model"]["patch_size"] == 4);
    CHECK(j["heat"]["norm"] == true);
    CHECK(j["data"]["limit_train"] == 5000000000);
    CHECK(j["seed"] == 18446744073709551615ull);
    CHECK(j["knn"]["temperature"] == 0.5);
    CHECK(j.size() == 16);  // 8 top-level keys + 8 sections
    for (const std::string& key : keys) {
        std::string pointer = key;
        std::replace(pointer.begin(), pointer.end(), '.', '/');
        pointer.insert(pointer.begin(), '/');
        CHECK(j.contains(json::json_pointer(pointer)));
    }

    RunConfig b = preset("quick");
    CHECK(to_json(b) != j);
    merge_json(b, j, "test");
    CHECK(to_json(b) == j);

    // Printed form: 2-space indent, table order, parses back to the same object.
    std::string text = format_config(a);
    CHECK(text.rfind("{\n  \"job\": \"pretrain\",\n  \"method\": \"qbheat\",", 0) == 0);
    CHECK(json::parse(text) == j);
}

TEST_CASE("config: overrides of each value type", "[train][config]") {
    CHECK(with("model.patch_size=2").model.patch_size == 2);
    CHECK(with("model.mlp_ratio=3").model.mlp_ratio == 3.0);
    CHECK(with("optim.base_lr=1e-3").optim.base_lr == 1e-3);
    CHECK(with("data.flip=false").data.flip == false);
    CHECK(with("heat.mode=block").heat.mode == "block");
    CHECK(with("heat.mode=\"mask\"").heat.mode == "mask");
    CHECK(with("device=cuda:0").device == "cuda:0");
    CHECK(with("data.path=/tmp/a=b").data.path == "/tmp/a=b");  // split at the first '='
    CHECK(with("data.path=2024").data.path == "2024");          // a folder named like a number
    CHECK(with("seed=18446744073709551615").seed == 18446744073709551615ull);
    CHECK(with("data.limit_train=5000000000").data.limit_train == 5000000000);
    RunConfig c = with("model={\"width\": 64, \"heads\": 2}");
    CHECK(c.model.width == 64);
    CHECK(c.model.heads == 2);
    CHECK(c.model.depth == 4);  // the rest of the section is kept
}

TEST_CASE("config: override and merge errors name the key", "[train][config]") {
    RunConfig c = preset("quick");
    const json before = to_json(c);
    CHECK_THROWS_WITH(apply_override(c, "model.patch_size"),
                      Contains("--set model.patch_size: expected key=value"));
    CHECK_THROWS_WITH(apply_override(c, "=2"), Contains("expected key=value"));
    CHECK_THROWS_WITH(apply_override(c, "model.patchsize=2"),
                      Contains("--set model.patchsize=2: unknown key 'model.patchsize' (did you "
                               "mean model.patch_size?)"));
    CHECK_THROWS_WITH(apply_override(c, "model.patch_size=four"),
                      Contains("model.patch_size: expected an integer, got \"four\""));
    CHECK_THROWS_WITH(apply_override(c, "model.width=1.5"),
                      Contains("model.width: expected an integer, got 1.5"));
    CHECK_THROWS_WITH(apply_override(c, "model.width=99999999999"),
                      Contains("model.width: expected an integer in range, got 99999999999"));
    CHECK_THROWS_WITH(apply_override(c, "model.width=-99999999999"),
                      Contains("expected an integer in range"));
    CHECK_THROWS_WITH(apply_override(c, "seed=-1"),
                      Contains("seed: expected a non-negative integer, got -1"));
    CHECK_THROWS_WITH(apply_override(c, "data.flip=yes"),
                      Contains("data.flip: expected true or false, got \"yes\""));
    CHECK_THROWS_WITH(apply_override(c, "optim.base_lr=fast"),
                      Contains("optim.base_lr: expected a number, got \"fast\""));
    CHECK_THROWS_WITH(apply_override(c, "model=4"),
                      Contains("model: expected an object of its keys, got 4"));

    CHECK_THROWS_WITH(merge_json(c, json::parse(R"({"model": {"patchsize": 2}})"), "config.json"),
                      Contains("config.json: unknown key 'model.patchsize' (did you mean "
                               "model.patch_size?)"));
    CHECK_THROWS_WITH(merge_json(c, json::parse(R"({"modle": {}})"), "f"),
                      Contains("f: unknown key 'modle' (did you mean model?)"));
    CHECK_THROWS_WITH(merge_json(c, json::parse(R"({"knn": {"neighbours": 5}})"), "f"),
                      Contains("f: unknown key 'knn.neighbours' (known keys here: knn.k, "
                               "knn.temperature)"));
    CHECK_THROWS_WITH(merge_json(c, json::parse(R"({"heat": {"mode": 3}})"), "f"),
                      Contains("f: heat.mode: expected a string, got 3"));
    CHECK_THROWS_WITH(merge_json(c, json::array(), "f"),
                      Contains("f: expected a JSON object of config keys, got array"));
    // A refused merge leaves the config as it was, even for the keys before the bad one.
    CHECK_THROWS(merge_json(c, json::parse(R"({"job": "knn", "zzz": 1})"), "f"));
    CHECK(to_json(c) == before);
    // Dotted keys work inside JSON too.
    merge_json(c, json::parse(R"({"heat.mode": "block"})"), "f");
    CHECK(c.heat.mode == "block");
}

TEST_CASE("config: impossible configs are refused naming the key", "[train][config]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"model.patch_size=32", "model.patch_size: the grid (1x1) must be even"},
        {"model.heads=5", "model.heads: width 128 is not divisible by 5 heads"},
        {"heat.mode=diag", "heat.mode: unknown mode 'diag'"},
        {"optim.base_lr=-0.1", "optim.base_lr: must be positive, got -0.1"},
        {"mask_ratio=1", "mask_ratio: must be in (0, 1), got 1"},
        {"job=train", "job: unknown job 'train'"},
        {"method=simclr", "method: unknown method 'simclr' (expected qbheat, mae or interp)"},
        {"device=gpu", "device: unknown device 'gpu'"},
        {"device=cuda:", "device: unknown device 'cuda:'"},
        {"log_every=0", "log_every: must be positive, got 0"},
        {"checkpoint_every=-1", "checkpoint_every: must be >= 0, got -1"},
        {"recon_every=-1", "recon_every: must be >= 0, got -1"},
        {"model.width=130", "model.heads: width 130 is not divisible by 4 heads"},
        {"model={\"width\": 66, \"heads\": 2}", "model.width: the 2-D sin-cos position table"},
        {"decoder={\"width\": 90, \"heads\": 3}", "decoder.width: the decoder's 2-D sin-cos"},
        {"decoder.heads=5", "decoder.heads: width 96 is not divisible by 5 heads"},
        {"data.path=\"\"", "data.path: must not be empty"},
        {"data.pad=-1", "data.pad: must be >= 0, got -1"},
        {"data.channels=3", "data.channels: the data has 3 channels but model.in_channels is 1"},
        {"data.workers=-1", "data.workers: must be >= 0, got -1"},
        {"data.crop_scale_min=0", "data.crop_scale_min: must be in (0, 1], got 0"},
        {"data.limit_test=-5", "data.limit_test: must be >= 0, got -5"},
        {"optim.name=adam", "optim.name: unknown optimizer 'adam'"},
        {"optim.batch_size=0", "optim.batch_size: must be positive, got 0"},
        {"optim.epochs=0", "optim.epochs: must be positive, got 0"},
        {"optim.warmup_epochs=7", "optim.warmup_epochs: 7 warm-up epochs exceed the 6 epochs"},
        {"optim.min_lr=-1", "optim.min_lr: must be >= 0, got -1"},
        {"optim.weight_decay=-0.05", "optim.weight_decay: must be >= 0, got -0.05"},
        {"optim.beta2=1", "optim.beta2: must be in [0, 1), got 1"},
        {"optim.momentum=-0.5", "optim.momentum: must be in [0, 1), got -0.5"},
        {"optim.clip_grad=-1", "optim.clip_grad: must be >= 0, got -1"},
        {"probe.kind=mlp", "probe.kind: unknown probe 'mlp'"},
        {"probe.epochs=0", "probe.epochs: must be positive, got 0"},
        {"probe.base_lr=0", "probe.base_lr: must be positive, got 0"},
        {"probe.optimizer=adamw", "probe.optimizer: unknown optimizer 'adamw'"},
        {"knn.k=0", "knn.k: must be positive, got 0"},
        {"knn.temperature=0", "knn.temperature: must be positive, got 0"},
    };
    for (const auto& [assignment, message] : cases) {
        INFO(assignment);
        RunConfig c = with(assignment);
        CHECK_THROWS_WITH(validate(c), Contains(message));
    }
    RunConfig mae_cnn = with("method=mae");
    CHECK_NOTHROW(validate(mae_cnn));
    apply_override(mae_cnn, "model.encoder=cnn");
    CHECK_THROWS_WITH(validate(mae_cnn), Contains("method: mae drops tokens and needs "
                                                  "model.encoder vit, got cnn"));
}

TEST_CASE("config: file loading errors and precedence preset < file < --set", "[train][config]") {
    TempDir dir;
    const std::string missing = (dir.path / "none.json").string();
    CHECK_THROWS_WITH(load_config_file(missing, RunConfig{}),
                      Contains("config file '" + missing + "': cannot open"));
    const std::string bad =
        dir.write("bad.json", "{\n  \"seed\": 1,\n  \"model\": {\"width\": x}\n}\n");
    CHECK_THROWS_WITH(load_config_file(bad, RunConfig{}),
                      Contains("config file '" + bad + "': invalid JSON at line 3, column 22") &&
                          Contains("invalid literal"));
    const std::string array = dir.write("array.json", "[1, 2]");
    CHECK_THROWS_WITH(load_config_file(array, RunConfig{}),
                      Contains("expected a JSON object at the top level, got array"));
    const std::string typo = dir.write("typo.json", R"({"optim": {"base_lrr": 1}})");
    CHECK_THROWS_WITH(load_config_file(typo, RunConfig{}),
                      Contains(typo + ": unknown key 'optim.base_lrr' (did you mean "
                                      "optim.base_lr?)"));

    const std::string good = dir.write("good.json", R"({
  // comments are allowed
  "seed": 7,
  "model": {"width": 64, "heads": 2},
  "heat": {"mode": "block"}
})");
    RunConfig c = load_config_file(good, preset("quick"));
    apply_override(c, "seed=9");
    CHECK(c.model.depth == 4);      // preset
    CHECK(c.model.width == 64);     // file over preset
    CHECK(c.heat.mode == "block");  // file
    CHECK(c.seed == 9);             // --set over file
    CHECK_NOTHROW(validate(c));
}

TEST_CASE("config: save_config writes the whole file atomically", "[train][config]") {
    TempDir dir;
    const std::string path = (dir.path / "config.json").string();
    RunConfig c = preset("full");
    c.seed = 3;
    save_config(c, path);
    CHECK(read_text(path) == format_config(c) + "\n");
    c.seed = 4;
    save_config(c, path);  // replaces the old file
    RunConfig back = load_config_file(path, preset("quick"));
    CHECK(to_json(back) == to_json(c));
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
        INFO(entry.path().string());
        CHECK(entry.path().filename() == "config.json");
        ++files;
    }
    CHECK(files == 1);
    const std::string nowhere = (dir.path / "no" / "config.json").string();
    CHECK_THROWS_WITH(save_config(c, nowhere),
                      Contains("save_config: '" + nowhere + "': cannot create"));
}
