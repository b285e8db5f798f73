// conv2d, avg_pool2d, max_pool2d and global_avg_pool2d: forward against direct loop references
// (stride, padding, groups, depthwise, non-square), gradients by finite differences, errors.
#include "tests/test_util.h"

using namespace qbh;

namespace {

// Direct convolution over to_vector() values, in f64.
Tensor naive_conv(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& o) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
    const int64_t co = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3);
    const int64_t og = co / o.groups;
    const int64_t ho = (h + 2 * o.padding[0] - kh) / o.stride[0] + 1;
    const int64_t wo = (wd + 2 * o.padding[1] - kw) / o.stride[1] + 1;
    std::vector<double> xv = x.to_vector(), wv = w.to_vector(), y(n * co * ho * wo);
    std::vector<double> bv = bias.defined() ? bias.to_vector() : std::vector<double>(co, 0.0);
    for (int64_t b = 0; b < n; ++b)
        for (int64_t oc = 0; oc < co; ++oc)
            for (int64_t oh = 0; oh < ho; ++oh)
                for (int64_t ow = 0; ow < wo; ++ow) {
                    double acc = bv[oc];
                    for (int64_t ic = 0; ic < cg; ++ic)
                        for (int64_t i = 0; i < kh; ++i)
                            for (int64_t j = 0; j < kw; ++j) {
                                const int64_t ih = oh * o.stride[0] - o.padding[0] + i;
                                const int64_t iw = ow * o.stride[1] - o.padding[1] + j;
                                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                const int64_t xc = (oc / og) * cg + ic;
                                acc += xv[((b * c + xc) * h + ih) * wd + iw] *
                                       wv[((oc * cg + ic) * kh + i) * kw + j];
                            }
                    y[((b * co + oc) * ho + oh) * wo + ow] = acc;
                }
    return Tensor::from_vector(y, {n, co, ho, wo}, DType::f64);
}

// Pooling over each window by loops; `is_max` picks max (valid cells only) or the padded mean.
Tensor naive_pool(const Tensor& x, const Pool2dOptions& o, bool is_max) {
    const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
    const int64_t ho = (h + 2 * o.padding[0] - o.kernel[0]) / o.stride[0] + 1;
    const int64_t wo = (w + 2 * o.padding[1] - o.kernel[1]) / o.stride[1] + 1;
    std::vector<double> xv = x.to_vector(), y;
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t oh = 0; oh < ho; ++oh)
            for (int64_t ow = 0; ow < wo; ++ow) {
                double acc = is_max ? -1e300 : 0.0;
                for (int64_t i = 0; i < o.kernel[0]; ++i)
                    for (int64_t j = 0; j < o.kernel[1]; ++j) {
                        const int64_t ih = oh * o.stride[0] - o.padding[0] + i;
                        const int64_t iw = ow * o.stride[1] - o.padding[1] + j;
                        if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                        const double v = xv[(p * h + ih) * w + iw];
                        acc = is_max ? std::max(acc, v) : acc + v;
                    }
                y.push_back(is_max ? acc : acc / static_cast<double>(o.kernel[0] * o.kernel[1]));
            }
    return Tensor::from_vector(y, {x.size(0), x.size(1), ho, wo}, DType::f64);
}

double tol(DType dt) {
    return dt == DType::f32 ? 1e-4 : 1e-11;
}

struct ConvCase {
    Shape x, w;
    Conv2dOptions opt;
    const char* name;
};

Conv2dOptions conv_opt(int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t groups) {
    Conv2dOptions o;
    o.stride = {sh, sw};
    o.padding = {ph, pw};
    o.groups = groups;
    return o;
}

const std::vector<ConvCase>& conv_cases() {
    static const std::vector<ConvCase> cases = {
        {{2, 3, 7, 6}, {4, 3, 3, 3}, conv_opt(1, 1, 0, 0, 1), "3x3 plain"},
        {{2, 3, 7, 6}, {4, 3, 3, 3}, conv_opt(2, 2, 1, 1, 1), "stride 2 padding 1"},
        {{2, 4, 6, 7}, {6, 2, 3, 2}, conv_opt(1, 2, 1, 0, 2), "groups 2, 3x2 kernel"},
        {{2, 4, 6, 5}, {4, 1, 3, 3}, conv_opt(1, 1, 1, 1, 4), "depthwise"},
        {{2, 4, 5, 5}, {8, 1, 3, 3}, conv_opt(2, 1, 1, 1, 4), "depthwise, multiplier 2"},
        {{2, 3, 5, 7}, {6, 1, 2, 3}, conv_opt(1, 1, 0, 1, 3), "depthwise, multiplier 2, 2x3"},
        {{3, 5, 4, 6}, {3, 5, 1, 1}, conv_opt(1, 1, 0, 0, 1), "1x1 (no im2col)"},
        {{2, 3, 8, 8}, {5, 3, 4, 4}, conv_opt(4, 4, 0, 0, 1), "patch embed"},
        {{2, 1, 8, 8}, {5, 1, 4, 4}, conv_opt(4, 4, 0, 0, 1), "one input channel, patch embed"},
        {{2, 1, 6, 5}, {3, 1, 3, 3}, conv_opt(1, 1, 1, 1, 1), "one input channel, 3x3"},
        {{1, 2, 5, 9}, {3, 2, 2, 5}, conv_opt(3, 2, 2, 1, 1), "batch of one, padding > stride"},
    };
    return cases;
}

}  // namespace

TEST_CASE("conv2d: forward against a direct convolution", "[conv]") {
    for (DType dt : {DType::f32, DType::f64})
        for (const auto& c : conv_cases()) {
            INFO(c.name << " " << dtype_name(dt));
            Tensor x = test::randn(c.x, 1, dt), w = test::randn(c.w, 2, dt);
            Tensor b = test::randn({c.w[0]}, 3, dt);
            Tensor expected = naive_conv(x, w, b, c.opt);
            QBH_CHECK_CLOSE(conv2d(x, w, b, c.opt).to(DType::f64), expected, tol(dt), tol(dt));
            QBH_CHECK_CLOSE(conv2d(x, w, Tensor(), c.opt).to(DType::f64),
                            naive_conv(x, w, Tensor(), c.opt), tol(dt), tol(dt));
            QBH_CHECK_CLOSE(conv2d(test::noncontiguous(x), test::noncontiguous(w),
                                   test::noncontiguous(b), c.opt)
                                .to(DType::f64),
                            expected, tol(dt), tol(dt));
        }
    // Enough work to share images over threads.
    Conv2dOptions o = conv_opt(1, 1, 1, 1, 1);
    Tensor x = test::randn({4, 8, 12, 12}, 4, DType::f32), w = test::randn({16, 8, 3, 3}, 5);
    w = w.to(DType::f32);
    QBH_CHECK_CLOSE(conv2d(x, w, Tensor(), o).to(DType::f64), naive_conv(x, w, Tensor(), o), 1e-4,
                    1e-4);
}

TEST_CASE("conv2d: gradients by finite differences", "[conv][gradcheck]") {
    for (const auto& c : conv_cases()) {
        INFO(c.name);
        Conv2dOptions opt = c.opt;
        auto f = [opt](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], opt); };
        Tensor x = test::randn(c.x, 10).set_requires_grad();
        Tensor w = test::randn(c.w, 11).set_requires_grad();
        Tensor b = test::randn({c.w[0]}, 12).set_requires_grad();
        QBH_GRADCHECK(f, {x, w, b});
        QBH_GRADCHECK(f, {test::noncontiguous(x).set_requires_grad(),
                          test::noncontiguous(w).set_requires_grad(),
                          test::noncontiguous(b).set_requires_grad()});
    }
    // A weight stored with its kernel axes transposed, and only one input needing a gradient.
    Tensor x = test::randn({2, 2, 5, 4}, 13).set_requires_grad();
    Tensor wt = test::randn({3, 2, 2, 3}, 14).set_requires_grad();
    auto opt = conv_opt(1, 1, 1, 0, 1);
    QBH_GRADCHECK(
        [opt](const std::vector<Tensor>& in) {
            return conv2d(in[0], in[1].transpose(2, 3), Tensor(), opt);
        },
        {x, wt});
    Tensor frozen_w = test::randn({3, 2, 3, 2}, 15);
    QBH_GRADCHECK(
        [opt, frozen_w](const std::vector<Tensor>& in) { return conv2d(in[0], frozen_w, {}, opt); },
        {x});
    Tensor frozen_x = test::randn({2, 2, 5, 4}, 16);
    QBH_GRADCHECK(
        [opt, frozen_x](const std::vector<Tensor>& in) { return conv2d(frozen_x, in[0], {}, opt); },
        {test::randn({3, 2, 3, 2}, 17).set_requires_grad()});
}

TEST_CASE("conv2d: threaded batch gradients equal per-image sums", "[conv]") {
    // Big enough that images (or channels) are shared over threads; one image at a time is not.
    struct Big {
        Shape x, w;
        int64_t groups;
    };
    for (const Big& c :
         {Big{{4, 8, 12, 12}, {16, 8, 3, 3}, 1}, Big{{4, 16, 16, 16}, {16, 1, 3, 3}, 16}}) {
        INFO("groups " << c.groups);
        Conv2dOptions opt = conv_opt(1, 1, 1, 1, c.groups);
        Tensor x = test::randn(c.x, 50).set_requires_grad();
        Tensor w = test::randn(c.w, 51).set_requires_grad();
        Tensor b = test::randn({c.w[0]}, 52).set_requires_grad();
        Tensor y = conv2d(x, w, b, opt);
        QBH_CHECK_CLOSE(y, naive_conv(x, w, b, opt), 1e-10, 1e-10);
        Tensor gy = test::randn(y.shape(), 53);
        y.backward(gy);
        Tensor dw_sum = Tensor::zeros(c.w, DType::f64),
               db_sum = Tensor::zeros({c.w[0]}, DType::f64);
        for (int64_t n = 0; n < c.x[0]; ++n) {
            Tensor xn = x.detach().slice(0, n, n + 1).contiguous().set_requires_grad();
            Tensor wn = w.detach().set_requires_grad(), bn = b.detach().set_requires_grad();
            conv2d(xn, wn, bn, opt).backward(gy.slice(0, n, n + 1).contiguous());
            QBH_CHECK_CLOSE(x.grad().slice(0, n, n + 1), xn.grad(), 1e-10, 1e-10);
            dw_sum = dw_sum + wn.grad();
            db_sum = db_sum + bn.grad();
        }
        QBH_CHECK_CLOSE(w.grad(), dw_sum, 1e-10, 1e-10);
        QBH_CHECK_CLOSE(b.grad(), db_sum, 1e-10, 1e-10);
    }
}

namespace {
Pool2dOptions pool_opt(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
    Pool2dOptions o;
    o.kernel = {kh, kw};
    o.stride = {sh, sw};
    o.padding = {ph, pw};
    return o;
}
const std::vector<Pool2dOptions>& pool_cases() {
    static const std::vector<Pool2dOptions> cases = {
        pool_opt(2, 2, 2, 2, 0, 0), pool_opt(3, 3, 2, 2, 1, 1), pool_opt(3, 2, 1, 2, 1, 0),
        pool_opt(2, 3, 1, 1, 0, 1)};
    return cases;
}
}  // namespace

TEST_CASE("pooling: forward against window loops", "[conv]") {
    for (DType dt : {DType::f32, DType::f64})
        for (const auto& o : pool_cases()) {
            INFO("kernel " << o.kernel[0] << "x" << o.kernel[1] << " stride " << o.stride[0] << "x"
                           << o.stride[1] << " padding " << o.padding[0] << "x" << o.padding[1]);
            Tensor x = test::randn({2, 3, 7, 6}, 20, dt);
            QBH_CHECK_CLOSE(avg_pool2d(x, o).to(DType::f64), naive_pool(x, o, false), tol(dt),
                            tol(dt));
            QBH_CHECK_CLOSE(max_pool2d(x, o).to(DType::f64), naive_pool(x, o, true), 0, 0);
            QBH_CHECK_CLOSE(avg_pool2d(test::noncontiguous(x), o).to(DType::f64),
                            naive_pool(x, o, false), tol(dt), tol(dt));
            QBH_CHECK_CLOSE(max_pool2d(test::noncontiguous(x), o).to(DType::f64),
                            naive_pool(x, o, true), 0, 0);
        }
    // Padding never wins a max, even over negative values; padded cells count in the mean.
    Tensor neg = Tensor::full({1, 1, 2, 2}, -3.0, DType::f64);
    Pool2dOptions o = pool_opt(2, 2, 1, 1, 1, 1);
    CHECK(max_pool2d(neg, o).to_vector() == std::vector<double>(9, -3.0));
    CHECK(avg_pool2d(neg, o).at({0, 0, 0, 0}) == Approx(-0.75));
    Tensor x = test::randn({2, 3, 4, 5}, 21, DType::f32);
    QBH_CHECK_CLOSE(global_avg_pool2d(x), mean(x, {2, 3}), 1e-6, 1e-6);
    CHECK(global_avg_pool2d(x).shape() == Shape{2, 3});
    CHECK(global_avg_pool2d(x).at({1, 2}) == Approx(mean(x.select(0, 1).select(0, 2)).item()));
}

TEST_CASE("pooling: gradients by finite differences", "[conv][gradcheck]") {
    for (const auto& o : pool_cases()) {
        auto avg = [o](const std::vector<Tensor>& in) { return avg_pool2d(in[0], o); };
        auto mx = [o](const std::vector<Tensor>& in) { return max_pool2d(in[0], o); };
        // Distinct values, so no window has a tie that finite differences would straddle.
        Tensor x = (Tensor::arange(2 * 2 * 5 * 6, DType::f64) * 0.37).reshape({2, 2, 5, 6});
        Tensor shuffled = (x * 7.0 + test::uniform({2, 2, 5, 6}, 30, 0, 0.1)).set_requires_grad();
        Tensor r = test::randn({2, 2, 5, 6}, 31).set_requires_grad();
        QBH_GRADCHECK(avg, {r});
        QBH_GRADCHECK(avg, {test::noncontiguous(r).set_requires_grad()});
        QBH_GRADCHECK(mx, {r});
        QBH_GRADCHECK(mx, {test::noncontiguous(shuffled).set_requires_grad()});
    }
    auto gap = [](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); };
    QBH_GRADCHECK(gap, {test::randn({2, 3, 4, 5}, 32).set_requires_grad()});
    // Ties: the whole gradient goes to the first maximum.
    Tensor ones = Tensor::ones({1, 1, 2, 2}, DType::f64).set_requires_grad();
    sum(max_pool2d(ones, pool_opt(2, 2, 2, 2, 0, 0))).backward();
    CHECK(ones.grad().to_vector() == std::vector<double>{1, 0, 0, 0});
}

TEST_CASE("conv2d and pooling: errors", "[conv][errors]") {
    Tensor x = Tensor::zeros({2, 4, 6, 6}), w = Tensor::zeros({6, 2, 3, 3});
    CHECK_THROWS_WITH(conv2d(Tensor::zeros({4, 6, 6}), w),
                      Catch::Contains("conv2d") && Catch::Contains("input must have 4"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 4, 3})), Catch::Contains("weight must have 4"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 1, 3, 3}), {}, conv_opt(1, 1, 0, 0, 3)),
                      Catch::Contains("input channels 4") && Catch::Contains("groups 3"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({5, 2, 3, 3}), {}, conv_opt(1, 1, 0, 0, 2)),
                      Catch::Contains("output channels 5") && Catch::Contains("groups 2"));
    CHECK_THROWS_WITH(conv2d(x, w), Catch::Contains("expected [6, 4, kH >= 1, kW >= 1]") &&
                                        Catch::Contains("got f32[6, 2, 3, 3]"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 4, 0, 3})), Catch::Contains("mismatch"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 4, 3, 3}), Tensor::zeros({4})),
                      Catch::Contains("bias must be [6]"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 4, 7, 3})),
                      Catch::Contains("output size") && Catch::Contains("input 6x6") &&
                          Catch::Contains("kernel 7x3") && Catch::Contains("stride 1x1") &&
                          Catch::Contains("padding 0x0"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 4, 3, 3}), {}, conv_opt(0, 1, 0, 0, 1)),
                      Catch::Contains("stride must be at least 1"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 4, 3, 3}), {}, conv_opt(1, 1, -1, 0, 1)),
                      Catch::Contains("padding must be non-negative"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 4, 3, 3}), {}, conv_opt(1, 1, 0, 0, 0)),
                      Catch::Contains("groups must be at least 1"));
    CHECK_THROWS_WITH(conv2d(x, Tensor::zeros({6, 4, 3, 3}, DType::f64)), Catch::Contains("dtype"));

    CHECK_THROWS_WITH(avg_pool2d(Tensor::zeros({4, 6, 6})),
                      Catch::Contains("avg_pool2d") && Catch::Contains("input must have 4"));
    CHECK_THROWS_WITH(max_pool2d(x, pool_opt(0, 2, 1, 1, 0, 0)), Catch::Contains("kernel"));
    CHECK_THROWS_WITH(max_pool2d(x, pool_opt(2, 2, 1, 1, 2, 0)),
                      Catch::Contains("at most half the kernel"));
    CHECK_THROWS_WITH(avg_pool2d(x, pool_opt(2, 2, 0, 1, 0, 0)), Catch::Contains("stride"));
    CHECK_THROWS_WITH(max_pool2d(x, pool_opt(7, 2, 1, 1, 0, 0)),
                      Catch::Contains("max_pool2d") && Catch::Contains("output size") &&
                          Catch::Contains("input 6x6") && Catch::Contains("kernel 7x2"));
    CHECK_THROWS_WITH(avg_pool2d(Tensor::zeros({1, 1, 2, 2}, DType::i64)),
                      Catch::Contains("f32 or f64"));
    CHECK_THROWS_WITH(global_avg_pool2d(Tensor::zeros({2, 3})),
                      Catch::Contains("global_avg_pool2d") && Catch::Contains("4 dimensions"));
    CHECK_THROWS_WITH(global_avg_pool2d(Tensor::zeros({2, 3, 0, 4})), Catch::Contains("empty"));
}
