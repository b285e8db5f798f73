// Shape arithmetic: see shape.h.
#include "engine/core/shape.h"

#include <sstream>

#include "engine/core/error.h"

namespace qbh {

int64_t numel_of(const Shape& shape) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    return n;
}

Strides contiguous_strides(const Shape& shape) {
    Strides st(shape.size());
    int64_t acc = 1;
    for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
        st[i] = acc;
        acc *= shape[i];
    }
    return st;
}

std::string shape_str(const Shape& shape) {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    os << "]";
    return os.str();
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
    int64_t a = axis < 0 ? axis + ndim : axis;
    QBH_CHECK(a >= 0 && a < ndim, op << ": axis " << axis << " is out of range for a tensor with "
                                     << ndim << " dimensions (expected " << -ndim << " .. "
                                     << ndim - 1 << ")");
    return a;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (size_t i = 0; i < n; ++i) {
        int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        QBH_CHECK(da == db || da == 1 || db == 1,
                  op << ": shapes " << shape_str(a) << " and " << shape_str(b)
                     << " cannot be broadcast together (axis " << i << ": " << da << " vs " << db
                     << "; sizes must match or be 1)");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& target) {
    size_t n = target.size(), k = shape.size();
    Strides out(n, 0);
    for (size_t i = 0; i < k; ++i) {
        size_t t = n - k + i;
        out[t] = (shape[i] == 1 && target[t] != 1) ? 0 : strides[i];
    }
    return out;
}

}  // namespace qbh
