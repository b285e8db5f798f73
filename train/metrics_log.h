// metrics.jsonl: one JSON object per logged step or epoch, appended and flushed line by line, so
// a crash loses nothing already logged and a resumed run continues the same file.
#pragma once

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace qbh::train {

class MetricsLog {
  public:
    // Opens `path` for appending (created if missing; the folder must exist). `clock` gives unix
    // seconds for the "time" field; empty = the system clock. Throws qbh::Error naming the path.
    explicit MetricsLog(const std::string& path, std::function<double()> clock = {});
    ~MetricsLog();
    MetricsLog(const MetricsLog&) = delete;
    MetricsLog& operator=(const MetricsLog&) = delete;

    // Writes `record` (a JSON object) as one line, adding "time" when absent, and flushes.
    // Throws qbh::Error naming the path for a non-object or a failed write.
    void log(nlohmann::json record);

    const std::string& path() const { return path_; }

  private:
    std::string path_;
    std::function<double()> clock_;
    std::FILE* file_ = nullptr;
};

}  // namespace qbh::train
