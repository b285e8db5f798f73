// Console progress: on a terminal a one-line bar redrawn in place (at most 10 times a second);
// otherwise (a log file, CI) plain lines at most every interval_seconds, so logs stay readable.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace qbh::train {

// True when stderr is a terminal (isatty).
bool stderr_is_terminal();

// Seconds as "mm:ss" below an hour and "h:mm:ss" from an hour on, rounded to the nearest second;
// "--:--" for a negative or non-finite value.
std::string format_eta(double seconds);

class Progress {
  public:
    // `clock` gives monotonic seconds (empty = std::chrono::steady_clock); the ETA is the time
    // per step since construction times the steps left, counting steps from `start_step` (set it
    // to the resumed step). Throws qbh::Error for total_steps <= 0 or interval_seconds < 0.
    Progress(int64_t total_steps, std::ostream& out, bool is_terminal, double interval_seconds,
             std::function<double()> clock = {}, int64_t start_step = 0);

    // Shows the state after `step` (1..total_steps), subject to the throttling above; the last
    // step is always shown.
    void update(int64_t step, double loss, double lr, double images_per_second);
    // Shows the latest state if throttling held it back and ends the bar's line. Idempotent.
    void finish();

    // The text shown for a state: "step 120/500 loss ..." or "[####....] 120/500 loss ...".
    std::string format(int64_t step, double loss, double lr, double images_per_second,
                       double now) const;

  private:
    void show(double now);

    int64_t total_;
    std::ostream& out_;
    bool terminal_;
    double interval_;
    std::function<double()> clock_;
    int64_t start_step_;
    double start_time_;
    // Latest update, and whether it has been shown.
    int64_t step_ = 0;
    double loss_ = 0, lr_ = 0, ips_ = 0;
    bool shown_ = true, any_shown_ = false, finished_ = false;
    double last_shown_ = 0;
    size_t last_width_ = 0;  // of the bar, to blank leftovers when it gets shorter
};

}  // namespace qbh::train
