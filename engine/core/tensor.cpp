// Tensor: factories, metadata, autograd accessors, value reading and printing (see tensor.h).
// The view and copy methods forward to engine/ops/view.h so autograd records them.
#include "engine/core/tensor.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/ops/copy_cpu.h"
#include "engine/ops/view.h"

namespace qbh {

// ---- factories ----

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
    for (int64_t s : shape)
        QBH_CHECK(s >= 0, "Tensor::empty: negative size in shape " << shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(numel_of(shape) * dtype_size(dtype), device);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
    return full(shape, 0.0, dtype, device);
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
    return full(shape, 1.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    fill_(t, value);
    return t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) {
    return full({}, value, dtype, device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
    QBH_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape),
              "Tensor::from_vector: " << values.size() << " values cannot fill shape "
                                      << shape_str(shape) << " (" << numel_of(shape)
                                      << " elements)");
    Tensor t = empty(shape, dtype);
    cpu::copy_strided(t.raw_data(), dtype, values.data(), DType::f64, shape,
                      contiguous_strides(shape));
    return t;
}

Tensor Tensor::arange(int64_t n, DType dtype) {
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
    return from_vector(v, {n}, dtype);
}

Tensor Tensor::zeros_like(const Tensor& t) {
    return zeros(t.shape(), t.dtype(), t.device());
}
Tensor Tensor::empty_like(const Tensor& t) {
    return empty(t.shape(), t.dtype(), t.device());
}

// ---- metadata ----

void Tensor::check_defined(const char* what) const {
    QBH_CHECK(impl_ != nullptr, "Tensor::" << what
                                           << ": the tensor is undefined (default-"
                                              "constructed or a missing gradient)");
}

const Shape& Tensor::shape() const {
    check_defined("shape");
    return impl_->shape;
}
const Strides& Tensor::strides() const {
    check_defined("strides");
    return impl_->strides;
}
int64_t Tensor::size(int64_t axis) const {
    return shape()[normalize_axis(axis, dim(), "Tensor::size")];
}
int64_t Tensor::offset() const {
    check_defined("offset");
    return impl_->offset;
}
DType Tensor::dtype() const {
    check_defined("dtype");
    return impl_->dtype;
}
Device Tensor::device() const {
    check_defined("device");
    return impl_->storage->device();
}
const std::shared_ptr<Storage>& Tensor::storage() const {
    check_defined("storage");
    return impl_->storage;
}
bool Tensor::is_contiguous() const {
    const Shape& s = shape();
    const Strides& st = strides();
    int64_t expected = 1;
    for (int64_t i = dim() - 1; i >= 0; --i) {
        if (s[i] != 1 && st[i] != expected) return false;
        expected *= s[i];
    }
    return true;
}
void* Tensor::raw_data() const {
    check_defined("data");
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
}

// ---- autograd ----

bool Tensor::requires_grad() const {
    return impl_ && impl_->requires_grad;
}

Tensor& Tensor::set_requires_grad(bool on) {
    check_defined("set_requires_grad");
    QBH_CHECK(is_leaf(), "set_requires_grad: only leaf tensors can be marked; "
                             << describe(*this) << " was computed by '" << grad_fn()->name
                             << "' (use detach() first)");
    QBH_CHECK(!on || is_floating(dtype()),
              "set_requires_grad: " << describe(*this)
                                    << " is an integer tensor; only "
                                       "floating tensors can require grad");
    impl_->requires_grad = on;
    return *this;
}

Tensor Tensor::grad() const {
    check_defined("grad");
    return impl_->grad ? Tensor(impl_->grad) : Tensor();
}

void Tensor::set_grad(const Tensor& g) {
    check_defined("set_grad");
    if (g.defined())
        QBH_CHECK(g.shape() == shape() && g.dtype() == dtype(),
                  "set_grad: gradient " << describe(g) << " does not match " << describe(*this));
    impl_->grad = g.defined() ? g.impl_ptr() : nullptr;
}

void Tensor::zero_grad() {
    check_defined("zero_grad");
    impl_->grad = nullptr;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
    check_defined("grad_fn");
    return impl_->grad_fn;
}

void Tensor::backward(const Tensor& grad) const {
    check_defined("backward");
    run_backward(*this, grad);
}

Tensor Tensor::detach() const {
    check_defined("detach");
    return make_view(*this, shape(), strides(), offset());
}

// ---- views and copies: forwarded to ops/view.h ----

Tensor Tensor::reshape(const Shape& s) const {
    return qbh::reshape(*this, s);
}
Tensor Tensor::view(const Shape& s) const {
    return qbh::view(*this, s);
}
Tensor Tensor::permute(const std::vector<int64_t>& o) const {
    return qbh::permute(*this, o);
}
Tensor Tensor::transpose(int64_t a, int64_t b) const {
    return qbh::transpose(*this, a, b);
}
Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
    return qbh::slice(*this, axis, start, end, step);
}
Tensor Tensor::select(int64_t axis, int64_t index) const {
    return qbh::select(*this, axis, index);
}
Tensor Tensor::expand(const Shape& s) const {
    return qbh::expand(*this, s);
}
Tensor Tensor::unsqueeze(int64_t axis) const {
    return qbh::unsqueeze(*this, axis);
}
Tensor Tensor::squeeze(int64_t axis) const {
    return qbh::squeeze(*this, axis);
}
Tensor Tensor::flatten(int64_t a, int64_t b) const {
    return qbh::flatten(*this, a, b);
}
Tensor Tensor::contiguous() const {
    return qbh::contiguous(*this);
}
Tensor Tensor::clone() const {
    return qbh::clone(*this);
}
Tensor Tensor::to(DType dt) const {
    return to_dtype(*this, dt);
}
Tensor Tensor::to(Device d) const {
    return to_device(*this, d);
}

Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = base.storage();
    impl->offset = offset;
    impl->shape = shape;
    impl->strides = strides;
    impl->dtype = base.dtype();
    return Tensor(std::move(impl));
}

// ---- reading values ----

std::vector<double> Tensor::to_vector() const {
    check_defined("to_vector");
    Tensor host = is_cuda() ? detach().to(Device::cpu) : *this;
    std::vector<double> out(numel());
    cpu::copy_strided(out.data(), DType::f64, host.raw_data(), host.dtype(), host.shape(),
                      host.strides());
    return out;
}

double Tensor::item() const {
    QBH_CHECK(defined() && numel() == 1,
              "Tensor::item: expected a tensor with one element, got "
                  << (defined() ? describe(*this) : "an undefined tensor"));
    return to_vector()[0];
}

double Tensor::at(const std::vector<int64_t>& index) const {
    QBH_CHECK(static_cast<int64_t>(index.size()) == dim(),
              "Tensor::at: " << index.size() << " indices for " << describe(*this));
    Tensor t = *this;
    for (size_t i = 0; i < index.size(); ++i) {
        QBH_CHECK(index[i] >= 0 && index[i] < shape()[i],
                  "Tensor::at: index " << index[i] << " out of range for axis " << i << " of "
                                       << describe(*this));
    }
    int64_t off = offset();
    for (size_t i = 0; i < index.size(); ++i) off += index[i] * strides()[i];
    return make_view(t.detach(), {}, {}, off).to_vector()[0];
}

std::string describe(const Tensor& t) {
    if (!t.defined()) return "undefined";
    std::ostringstream os;
    os << dtype_name(t.dtype()) << shape_str(t.shape()) << " " << device_name(t.device());
    return os.str();
}

namespace {
void print_axis(std::ostream& os, const std::vector<double>& v, const Shape& shape, int64_t axis,
                int64_t base, int64_t stride, int64_t max_per_axis, bool integer, int indent) {
    if (axis == static_cast<int64_t>(shape.size())) {
        if (integer)
            os << static_cast<int64_t>(v[base]);
        else
            os << std::setw(10) << std::setprecision(4) << std::fixed << v[base];
        return;
    }
    int64_t n = shape[axis];
    int64_t inner = stride / std::max<int64_t>(n, 1);
    os << "[";
    for (int64_t i = 0; i < n; ++i) {
        if (n > max_per_axis && i == max_per_axis / 2) {
            os << "...";
            i = n - max_per_axis / 2 - 1;
            os << (axis + 1 == static_cast<int64_t>(shape.size()) ? ", " : ",\n");
            continue;
        }
        print_axis(os, v, shape, axis + 1, base + i * inner, inner, max_per_axis, integer,
                   indent + 1);
        if (i + 1 < n) {
            if (axis + 1 == static_cast<int64_t>(shape.size()))
                os << ", ";
            else
                os << ",\n" << std::string(indent + 1, ' ');
        }
    }
    os << "]";
}
}  // namespace

std::string Tensor::to_string(int64_t max_per_axis) const {
    if (!defined()) return "Tensor(undefined)";
    std::ostringstream os;
    os << "Tensor(" << describe(*this);
    if (requires_grad()) os << ", requires_grad";
    if (grad_fn()) os << ", grad_fn=" << grad_fn()->name;
    os << ")\n";
    print_axis(os, to_vector(), shape(), 0, 0, numel(), max_per_axis, dtype() == DType::i64, 0);
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
    return os << t.to_string();
}

}  // namespace qbh
