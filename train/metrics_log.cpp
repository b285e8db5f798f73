// MetricsLog: one fopen in append mode ("a" positions every write at the end, so a resumed run
// never overwrites), one fputs and one fflush per record; a full disk is reported at once.
#include "train/metrics_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "engine/core/error.h"

namespace qbh::train {

MetricsLog::MetricsLog(const std::string& path, std::function<double()> clock)
    : path_(path), clock_(std::move(clock)) {
    file_ = std::fopen(path_.c_str(), "a");
    QBH_CHECK(file_, "MetricsLog: cannot open " << path_ << " for appending ("
                                                << std::strerror(errno)
                                                << "); check that the folder exists");
}

MetricsLog::~MetricsLog() {
    if (file_) std::fclose(file_);
}

void MetricsLog::log(nlohmann::json record) {
    QBH_CHECK(record.is_object(), "MetricsLog " << path_ << ": a record must be a JSON object, got "
                                                << record.type_name());
    if (!record.contains("time")) {
        using namespace std::chrono;
        record["time"] =
            clock_ ? clock_() : duration<double>(system_clock::now().time_since_epoch()).count();
    }
    // dump() throws on invalid UTF-8 in strings; replace it rather than lose the record.
    const std::string line =
        record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    errno = 0;
    const bool ok = std::fputs(line.c_str(), file_) >= 0 && std::fflush(file_) == 0;
    const int err = errno;
    if (!ok) std::clearerr(file_);
    QBH_CHECK(ok, "MetricsLog: cannot write "
                      << path_ << " (" << (err ? std::strerror(err) : "write failed") << ")");
}

}  // namespace qbh::train
