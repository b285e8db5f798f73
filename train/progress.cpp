// Progress: the bar is redrawn with '\r' and padded with spaces over a longer previous bar; the
// plain lines are the same fields without the bar, one per interval, for logs and CI.
#include "train/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/core/error.h"

namespace qbh::train {
namespace {

constexpr int kBarWidth = 20;
constexpr double kRedrawSeconds = 0.1;  // a terminal bar is redrawn at most 10 times a second

double steady_seconds() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

bool stderr_is_terminal() {
    return ::isatty(::fileno(stderr)) == 1;
}

std::string format_eta(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "--:--";
    const long long s = std::llround(seconds);
    char buf[48];
    if (s < 3600)
        std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    return buf;
}

Progress::Progress(int64_t total_steps, std::ostream& out, bool is_terminal,
                   double interval_seconds, std::function<double()> clock, int64_t start_step)
    : total_(total_steps),
      out_(out),
      terminal_(is_terminal),
      interval_(interval_seconds),
      clock_(clock ? std::move(clock) : steady_seconds),
      start_step_(start_step) {
    QBH_CHECK(total_steps > 0, "Progress: total_steps must be positive, got " << total_steps);
    QBH_CHECK(interval_seconds >= 0 && std::isfinite(interval_seconds),
              "Progress: interval_seconds must be >= 0, got " << interval_seconds);
    start_time_ = clock_();
}

std::string Progress::format(int64_t step, double loss, double lr, double images_per_second,
                             double now) const {
    const int64_t done = step - start_step_;
    const double eta = done > 0 ? (now - start_time_) / done * (total_ - step) : -1.0;
    char fields[160];
    std::snprintf(fields, sizeof fields, "%lld/%lld loss %.4f lr %.1e %.0f img/s ETA %s",
                  static_cast<long long>(step), static_cast<long long>(total_), loss, lr,
                  images_per_second, format_eta(eta).c_str());
    if (!terminal_) return std::string("step ") + fields;
    const int64_t clamped = step < 0 ? 0 : (step > total_ ? total_ : step);
    const int filled = static_cast<int>(clamped * kBarWidth / total_);
    std::string bar(kBarWidth + 3, '.');  // in place: GCC 12 warns falsely on "[" + string
    bar.front() = '[';
    bar.replace(1, filled, filled, '#');
    bar[kBarWidth + 1] = ']';
    bar.back() = ' ';
    return bar + fields;
}

void Progress::update(int64_t step, double loss, double lr, double images_per_second) {
    const double now = clock_();
    step_ = step;
    loss_ = loss;
    lr_ = lr;
    ips_ = images_per_second;
    shown_ = false;
    finished_ = false;
    const double wait = terminal_ ? kRedrawSeconds : interval_;
    if (!any_shown_ || step >= total_ || now - last_shown_ >= wait) show(now);
}

void Progress::show(double now) {
    const std::string text = format(step_, loss_, lr_, ips_, now);
    if (terminal_) {
        out_ << '\r' << text;
        if (text.size() < last_width_) out_ << std::string(last_width_ - text.size(), ' ');
        last_width_ = text.size();
    } else {
        out_ << text << '\n';
    }
    out_.flush();
    shown_ = any_shown_ = true;
    last_shown_ = now;
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    if (!shown_) show(clock_());
    if (terminal_ && any_shown_) {
        out_ << '\n';
        out_.flush();
    }
    last_width_ = 0;
}

}  // namespace qbh::train
