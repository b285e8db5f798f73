// DataError: the error for bad data (a corrupt, truncated or missing file), as opposed to a bad
// call. The loader's skip_bad mode skips samples that throw a DataError and nothing else.
// Messages name the file and what is wrong, e.g.
//   "train-images-idx3-ubyte.gz: truncated: header declares 60000 images of 28x28 (47040000
//    bytes) but the file holds 1024 bytes after the header".
#pragma once

#include <sstream>
#include <string>

#include "engine/core/error.h"

namespace qbh::data {

class DataError : public qbh::Error {
  public:
    explicit DataError(const std::string& what) : qbh::Error(what) {}
};

}  // namespace qbh::data

// QBH_DATA_CHECK(cond, path << ": what is wrong"): throws DataError with the streamed message.
#define QBH_DATA_CHECK(cond, msg)                             \
    do {                                                      \
        if (!(cond)) {                                        \
            std::ostringstream qbh_data_os_;                  \
            qbh_data_os_ << msg;                              \
            throw ::qbh::data::DataError(qbh_data_os_.str()); \
        }                                                     \
    } while (0)
