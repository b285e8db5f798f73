// Tensor: a cheap handle to a shared TensorImpl (storage + offset + shape + strides + dtype +
// device + autograd metadata). Copying a Tensor copies the handle, not the data; views such as
// reshape, permute, slice and expand share storage. Arithmetic lives in engine/ops/ as free
// functions (qbh::add, qbh::matmul, ...); the methods here are metadata, views and conveniences.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/core/shape.h"
#include "engine/core/storage.h"

namespace qbh {

struct Node;
class Tensor;

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    int64_t offset = 0;  // in elements
    Shape shape;
    Strides strides;  // in elements
    DType dtype = DType::f32;

    // Autograd. A leaf has no grad_fn; only leaves receive .grad.
    bool requires_grad = false;
    std::shared_ptr<TensorImpl> grad;
    std::shared_ptr<Node> grad_fn;
};

class Tensor {
  public:
    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    // ---- factories (all contiguous) ----
    static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
    static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
    static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
    static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                       Device device = Device::cpu);
    static Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu);
    // A CPU tensor holding `values` (converted to `dtype`); values.size() must equal numel.
    static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                              DType dtype = DType::f32);
    static Tensor arange(int64_t n, DType dtype = DType::f32);
    static Tensor zeros_like(const Tensor& t);
    static Tensor empty_like(const Tensor& t);

    // ---- metadata ----
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const;
    const Strides& strides() const;
    int64_t dim() const { return static_cast<int64_t>(shape().size()); }
    int64_t size(int64_t axis) const;  // negative axes count from the end
    int64_t numel() const { return numel_of(shape()); }
    int64_t offset() const;
    DType dtype() const;
    Device device() const;
    bool is_cuda() const { return device() == Device::cuda; }
    bool is_contiguous() const;
    const std::shared_ptr<Storage>& storage() const;
    TensorImpl* impl() const { return impl_.get(); }
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    bool same(const Tensor& other) const { return impl_ == other.impl_; }

    // Raw pointer to the first element (storage + offset); checks the dtype matches T.
    template <class T>
    T* data() const;
    void* raw_data() const;

    // ---- autograd ----
    bool requires_grad() const;
    // Marks a leaf as a parameter whose gradient is wanted; returns *this for chaining.
    Tensor& set_requires_grad(bool on = true);
    Tensor grad() const;  // undefined until a backward pass reached this leaf
    void set_grad(const Tensor& g);
    void zero_grad();  // drops .grad
    const std::shared_ptr<Node>& grad_fn() const;
    bool is_leaf() const { return grad_fn() == nullptr; }
    // Runs backpropagation from this tensor. A scalar needs no `grad`; otherwise pass dL/dthis.
    void backward(const Tensor& grad = Tensor()) const;
    Tensor detach() const;  // same storage, no history, requires_grad false

    // ---- views (share storage; recorded by autograd) ----
    Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
    Tensor view(const Shape& shape) const;     // always a view; throws when strides forbid it
    Tensor permute(const std::vector<int64_t>& order) const;
    Tensor transpose(int64_t a, int64_t b) const;
    Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
    Tensor select(int64_t axis, int64_t index) const;  // slice of one, axis removed
    Tensor expand(const Shape& shape) const;
    Tensor unsqueeze(int64_t axis) const;
    Tensor squeeze(int64_t axis) const;
    Tensor flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;

    // ---- copies and conversions ----
    Tensor contiguous() const;  // itself when already contiguous
    Tensor clone() const;       // always a fresh contiguous copy (recorded by autograd)
    Tensor to(DType dtype) const;
    Tensor to(Device device) const;

    // ---- reading values (tests, printing, small host-side logic) ----
    double item() const;                    // the one value of a tensor with numel 1
    std::vector<double> to_vector() const;  // all values in row-major order, as double
    double at(const std::vector<int64_t>& index) const;
    std::string to_string(int64_t max_per_axis = 6) const;

  private:
    void check_defined(const char* what) const;
    std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// A one-line description for error messages: "f32[2, 3] cpu".
std::string describe(const Tensor& t);

// Creates a tensor sharing `base`'s storage with the given geometry (no autograd recording).
Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset);

template <class T>
T* Tensor::data() const {
    QBH_CHECK(defined() && dtype() == dtype_of<T>(),
              "Tensor::data: asked for " << dtype_name(dtype_of<T>()) << " from "
                                         << (defined() ? describe(*this) : "an undefined tensor"));
    return static_cast<T*>(raw_data());
}

}  // namespace qbh
