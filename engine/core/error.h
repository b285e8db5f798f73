// qbh::Error, the one exception type of the engine, and QBH_CHECK, which builds its message.
// Every misuse (shape, dtype, device, axis) throws an Error whose text names the op, what it got
// and what it expected, so the user can fix the call without reading engine code.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace qbh {

class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace qbh

// QBH_CHECK(cond, "op: expected ... got " << x): throws qbh::Error with the streamed message.
#define QBH_CHECK(cond, msg)                         \
    do {                                             \
        if (!(cond)) {                               \
            std::ostringstream qbh_check_os_;        \
            qbh_check_os_ << msg;                    \
            throw ::qbh::Error(qbh_check_os_.str()); \
        }                                            \
    } while (0)

// QBH_FAIL("...") always throws.
#define QBH_FAIL(msg)                           \
    do {                                        \
        std::ostringstream qbh_fail_os_;        \
        qbh_fail_os_ << msg;                    \
        throw ::qbh::Error(qbh_fail_os_.str()); \
    } while (0)
