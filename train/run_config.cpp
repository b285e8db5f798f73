// JSON <-> RunConfig through ONE table of (dotted key, member) entries, so printing, merging,
// overrides and "did you mean" suggestions can never disagree about a key. Merges work on a copy
// and commit only when every key was accepted: a refused config leaves the caller's untouched.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <variant>

#include "engine/core/error.h"
#include "train/run_config.h"

namespace qbh::train {

namespace {

using json = nlohmann::json;
using FieldRef = std::variant<int*, int64_t*, uint64_t*, double*, bool*, std::string*>;

struct Field {
    const char* key;
    FieldRef (*get)(RunConfig&);
};

// The key is the member path itself unless the JSON spelling differs (model.kind).
#define QBH_FIELD_AS(KEY, MEMBER)                               \
    Field {                                                     \
        KEY, [](RunConfig& c) -> FieldRef { return &c.MEMBER; } \
    }
#define QBH_FIELD(MEMBER) QBH_FIELD_AS(#MEMBER, MEMBER)

const std::vector<Field>& fields() {
    static const std::vector<Field> table = {
        QBH_FIELD(job),
        QBH_FIELD(method),
        QBH_FIELD(mask_ratio),
        QBH_FIELD(seed),
        QBH_FIELD(device),
        QBH_FIELD(log_every),
        QBH_FIELD(checkpoint_every),
        QBH_FIELD(recon_every),
        QBH_FIELD_AS("model.encoder", model.kind),
        QBH_FIELD(model.image_size),
        QBH_FIELD(model.in_channels),
        QBH_FIELD(model.patch_size),
        QBH_FIELD(model.width),
        QBH_FIELD(model.depth),
        QBH_FIELD(model.heads),
        QBH_FIELD(model.mlp_ratio),
        QBH_FIELD(decoder.width),
        QBH_FIELD(decoder.depth),
        QBH_FIELD(decoder.heads),
        QBH_FIELD(decoder.mlp_ratio),
        QBH_FIELD(heat.mode),
        QBH_FIELD(heat.corner),
        QBH_FIELD(heat.norm),
        QBH_FIELD(loss.norm_pix),
        QBH_FIELD(loss.masked_only),
        QBH_FIELD(data.path),
        QBH_FIELD(data.pad),
        QBH_FIELD(data.channels),
        QBH_FIELD(data.workers),
        QBH_FIELD(data.crop_scale_min),
        QBH_FIELD(data.flip),
        QBH_FIELD(data.limit_train),
        QBH_FIELD(data.limit_test),
        QBH_FIELD(optim.name),
        QBH_FIELD(optim.batch_size),
        QBH_FIELD(optim.epochs),
        QBH_FIELD(optim.warmup_epochs),
        QBH_FIELD(optim.base_lr),
        QBH_FIELD(optim.min_lr),
        QBH_FIELD(optim.weight_decay),
        QBH_FIELD(optim.beta1),
        QBH_FIELD(optim.beta2),
        QBH_FIELD(optim.momentum),
        QBH_FIELD(optim.clip_grad),
        QBH_FIELD(probe.kind),
        QBH_FIELD(probe.epochs),
        QBH_FIELD(probe.base_lr),
        QBH_FIELD(probe.batch_size),
        QBH_FIELD(probe.optimizer),
        QBH_FIELD(probe.weight_decay),
        QBH_FIELD(knn.k),
        QBH_FIELD(knn.temperature),
    };
    return table;
}

#undef QBH_FIELD
#undef QBH_FIELD_AS

const Field* find_field(const std::string& key) {
    for (const Field& f : fields())
        if (key == f.key) return &f;
    return nullptr;
}

// "model" is a section when some key starts with "model.".
bool is_section(const std::string& name) {
    const std::string prefix = name + ".";
    for (const Field& f : fields())
        if (std::string_view(f.key).starts_with(prefix)) return true;
    return false;
}

// Keys and sections, for suggestions: job, model, model.encoder, ...
std::vector<std::string> all_names() {
    std::vector<std::string> names;
    for (const Field& f : fields()) {
        std::string key = f.key;
        for (size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1))
            if (std::find(names.begin(), names.end(), key.substr(0, dot)) == names.end())
                names.push_back(key.substr(0, dot));
        names.push_back(key);
    }
    return names;
}

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
            diag = up;
        }
    }
    return row[b.size()];
}

[[noreturn]] void unknown_key(const std::string& key, const std::string& source) {
    std::string best;
    size_t best_d = std::numeric_limits<size_t>::max();
    for (const std::string& name : all_names()) {
        size_t d = edit_distance(key, name);
        if (d < best_d) best_d = d, best = name;
    }
    // A far "closest" key would mislead; then list what the enclosing section holds instead.
    if (best_d <= std::max<size_t>(2, key.size() / 3))
        QBH_FAIL(source << ": unknown key '" << key << "' (did you mean " << best << "?)");
    const size_t dot = key.rfind('.');
    const std::string parent = dot == std::string::npos ? "" : key.substr(0, dot);
    std::ostringstream known;
    for (const std::string& name : all_names()) {
        const size_t d = name.rfind('.');
        if ((d == std::string::npos ? "" : name.substr(0, d)) != parent) continue;
        known << (known.tellp() > 0 ? ", " : "") << name;
    }
    QBH_FAIL(source << ": unknown key '" << key << "' (known keys here: "
                    << (known.tellp() > 0 ? known.str() : std::string("none")) << ")");
}

void set_field(RunConfig& c, const Field& f, const json& v, const std::string& source) {
    auto fail = [&](const char* expected) {
        QBH_FAIL(source << ": " << f.key << ": expected " << expected << ", got " << v.dump());
    };
    std::visit(
        [&](auto* p) {
            using T = std::remove_pointer_t<decltype(p)>;
            if constexpr (std::is_same_v<T, bool>) {
                if (!v.is_boolean()) fail("true or false");
                *p = v.get<bool>();
            } else if constexpr (std::is_same_v<T, std::string>) {
                if (!v.is_string()) fail("a string");
                *p = v.get<std::string>();
            } else if constexpr (std::is_same_v<T, double>) {
                if (!v.is_number()) fail("a number");
                *p = v.get<double>();
            } else if constexpr (std::is_same_v<T, uint64_t>) {
                if (!v.is_number_unsigned()) fail("a non-negative integer");
                *p = v.get<uint64_t>();
            } else {  // int, int64_t
                if (!v.is_number_integer()) fail("an integer");
                if (v.is_number_unsigned() &&
                    v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max()))
                    fail("an integer in range");
                if (!v.is_number_unsigned() && (v.get<int64_t>() < std::numeric_limits<T>::min() ||
                                                v.get<int64_t>() > std::numeric_limits<T>::max()))
                    fail("an integer in range");
                *p = static_cast<T>(v.get<int64_t>());
            }
        },
        f.get(c));
}

void merge_object(RunConfig& c, const json& j, const std::string& prefix,
                  const std::string& source) {
    for (const auto& [name, value] : j.items()) {
        const std::string key = prefix.empty() ? name : prefix + "." + name;
        if (const Field* f = find_field(key)) {
            set_field(c, *f, value, source);
        } else if (is_section(key)) {
            QBH_CHECK(value.is_object(), source << ": " << key
                                                << ": expected an object of its keys, got "
                                                << value.dump());
            merge_object(c, value, key, source);
        } else {
            unknown_key(key, source);
        }
    }
}

// Nested object in table order (ordered_json) or sorted (json), from the same table.
template <class J>
J build_json(const RunConfig& config) {
    J root = J::object();
    auto& c = const_cast<RunConfig&>(config);  // the getters only read here
    for (const Field& f : fields()) {
        J* node = &root;
        std::string_view key = f.key;
        for (size_t dot = key.find('.'); dot != std::string_view::npos; dot = key.find('.')) {
            node = &(*node)[std::string(key.substr(0, dot))];
            key.remove_prefix(dot + 1);
        }
        std::visit([&](auto* p) { (*node)[std::string(key)] = *p; }, f.get(c));
    }
    return root;
}

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace

std::vector<std::string> config_keys() {
    std::vector<std::string> keys;
    for (const Field& f : fields()) keys.emplace_back(f.key);
    return keys;
}

nlohmann::json to_json(const RunConfig& config) {
    return build_json<json>(config);
}

void merge_json(RunConfig& config, const nlohmann::json& j, const std::string& source) {
    QBH_CHECK(j.is_object(),
              source << ": expected a JSON object of config keys, got " << j.type_name());
    RunConfig copy = config;
    merge_object(copy, j, "", source);
    config = std::move(copy);
}

void apply_override(RunConfig& config, const std::string& assignment) {
    const size_t eq = assignment.find('=');
    const std::string source = "--set " + assignment;
    QBH_CHECK(eq != std::string::npos && eq > 0,
              source << ": expected key=value (e.g. model.patch_size=2 or heat.mode=block)");
    const std::string key = assignment.substr(0, eq);
    const std::string text = assignment.substr(eq + 1);
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    // Not JSON (block, /tmp/x, cuda:0), or a string key given a number-looking name: the text.
    const Field* f = find_field(key);
    if (value.is_discarded() ||
        (f && std::holds_alternative<std::string*>(f->get(config)) && !value.is_string()))
        value = text;
    merge_json(config, json{{key, value}}, source);
}

RunConfig load_config_file(const std::string& path, const RunConfig& base) {
    std::ifstream in(path, std::ios::binary);
    QBH_CHECK(in, "config file '" << path << "': cannot open (" << errno_text() << ")");
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    json j;
    try {
        j = json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        // e.byte counts from 1 and points at the character that failed.
        const size_t at = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
        const size_t line = 1 + std::count(text.begin(), text.begin() + at, '\n');
        const size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
        const size_t column = at - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
        std::string why = e.what();
        const size_t colon = why.find(": ", why.find(']'));
        if (colon != std::string::npos) why = why.substr(colon + 2);
        QBH_FAIL("config file '" << path << "': invalid JSON at line " << line << ", column "
                                 << column << ": " << why);
    }
    QBH_CHECK(j.is_object(), "config file '" << path << "': expected a JSON object at the top "
                                             << "level, got " << j.type_name());
    RunConfig config = base;
    merge_json(config, j, path);
    return config;
}

std::string format_config(const RunConfig& config) {
    return build_json<nlohmann::ordered_json>(config).dump(2);
}

void save_config(const RunConfig& config, const std::string& path) {
    const std::string text = format_config(config) + "\n";
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    QBH_CHECK(fd >= 0, "save_config: '" << path << "': cannot create '" << tmp << "' ("
                                        << errno_text() << ")");
    auto fail = [&](const char* what) {
        const std::string err = errno_text();
        ::close(fd);
        ::unlink(tmp.c_str());
        QBH_FAIL("save_config: '" << path << "': " << what << " '" << tmp << "' failed (" << err
                                  << ")");
    };
    for (size_t done = 0; done < text.size();) {
        ssize_t w = ::write(fd, text.data() + done, text.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fail("writing");
        done += static_cast<size_t>(w);
    }
    if (::fsync(fd) != 0) fail("fsync of");
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string err = errno_text();
        ::unlink(tmp.c_str());
        QBH_FAIL("save_config: '" << path << "': rename from '" << tmp << "' failed (" << err
                                  << ")");
    }
    // The rename itself reaches the disk with the directory (best effort).
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace qbh::train
