// Autograd: accumulation into .grad, NoGradGuard, detach, saved tensors freed after backward,
// graph printing, and its errors.
#include "tests/test_util.h"

using namespace qbh;

TEST_CASE("autograd: gradients accumulate across backward calls", "[autograd]") {
    Tensor x = Tensor::from_vector({1, 2, 3}, {3}, DType::f64).set_requires_grad();
    sum(x * x).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{2, 4, 6});
    sum(x * 3.0).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{5, 7, 9});
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("autograd: a tensor used twice sums both paths", "[autograd]") {
    Tensor x = Tensor::from_vector({2}, {1}, DType::f64).set_requires_grad();
    Tensor y = x * x + x;   // dy/dx = 2x + 1
    sum(y * y).backward();  // d/dx y^2 = 2 y (2x + 1) = 2 * 6 * 5
    CHECK(x.grad().item() == Approx(60.0));
}

TEST_CASE("autograd: NoGradGuard and detach stop recording", "[autograd]") {
    Tensor x = Tensor::from_vector({1, 2}, {2}).set_requires_grad();
    {
        NoGradGuard ng;
        Tensor y = x * 2.0;
        CHECK_FALSE(y.requires_grad());
        CHECK(y.grad_fn() == nullptr);
    }
    CHECK(grad_enabled());
    Tensor d = (x * 2.0).detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.storage() != x.storage());
    Tensor y = x * 2.0;
    CHECK(y.requires_grad());
    CHECK(y.grad_fn()->name == "mul");
}

TEST_CASE("autograd: saved tensors are freed after backward", "[autograd]") {
    Tensor x = Tensor::from_vector({1, 2}, {2}).set_requires_grad();
    Tensor h = exp(x);
    std::weak_ptr<Storage> saved = h.storage();  // exp saves its output for the backward
    Tensor loss = sum(h * h);
    h = Tensor();
    CHECK_FALSE(saved.expired());  // still held by the graph
    loss.backward();
    CHECK(saved.expired());
    CHECK_THROWS_WITH(loss.backward(), Catch::Contains("already used by an earlier backward"));
}

TEST_CASE("autograd: graph printing shows every node", "[autograd]") {
    Tensor w = Tensor::ones({3, 2}).set_requires_grad();
    Tensor x = Tensor::ones({4, 3});
    Tensor y = sum(relu(x.reshape({4, 3, 1}) * w.unsqueeze(0)));
    std::string g = graph_to_string(y);
    INFO(g);
    CHECK(g.find("sum") != std::string::npos);
    CHECK(g.find("relu") != std::string::npos);
    CHECK(g.find("mul") != std::string::npos);
    CHECK(g.find("leaf [3, 2]") != std::string::npos);
}

TEST_CASE("autograd: errors name the problem", "[autograd][errors]") {
    Tensor x = Tensor::ones({2});
    CHECK_THROWS_WITH(x.backward(), Catch::Contains("does not require grad"));
    Tensor p = Tensor::ones({2}).set_requires_grad();
    CHECK_THROWS_WITH((p * 2.0).backward(), Catch::Contains("not a scalar"));
    CHECK_THROWS_WITH((p * 2.0).set_requires_grad(), Catch::Contains("only leaf"));
    CHECK_THROWS_WITH(Tensor::ones({2}, DType::i64).set_requires_grad(),
                      Catch::Contains("integer"));
    CHECK_THROWS_WITH(add_(p, x), Catch::Contains("NoGradGuard"));
}

TEST_CASE("autograd: gradients through views", "[autograd][gradcheck]") {
    Tensor x = test::randn({3, 4}, 1).set_requires_grad();
    auto f = [](const std::vector<Tensor>& in) {
        const Tensor& t = in[0];
        return t.transpose(0, 1).slice(0, 1, 4, 2).reshape({-1}).unsqueeze(1).expand({6, 3}) *
               t.select(1, 2).reshape({1, 3});
    };
    QBH_GRADCHECK(f, {x});
    Tensor nc = test::noncontiguous(test::randn({3, 4}, 2)).set_requires_grad();
    QBH_GRADCHECK(f, {nc});
}

TEST_CASE("autograd: gradcheck catches a wrong backward", "[autograd][gradcheck]") {
    // A node whose backward is off by a factor of 2: the checker must report it.
    auto f = [](const std::vector<Tensor>& in) {
        Tensor out;
        {
            NoGradGuard ng;
            out = in[0] * in[0];
        }
        return record("bad_square", out, {in[0]},
                      [x = in[0].detach()](const Tensor& g, const Node&) {
                          return std::vector<Tensor>{g * x};  // the true gradient is 2 g x
                      });
    };
    Tensor x = test::randn({4}, 5).set_requires_grad();
    auto result = test::gradcheck(f, {x});
    CHECK_FALSE(result.ok);
}

TEST_CASE("autograd: a private gradient becomes .grad without a copy, a shared one is copied",
          "[autograd]") {
    Tensor a = Tensor::from_vector({1, 2}, {2}, DType::f64).set_requires_grad();
    Tensor b = Tensor::from_vector({3, 4}, {2}, DType::f64).set_requires_grad();
    // add's backward hands the same gradient to both inputs: each leaf must own its own copy.
    sum(a + b).backward();
    CHECK(a.grad().storage() != b.grad().storage());
    {
        NoGradGuard ng;
        Tensor ga = a.grad();
        add_(ga, Tensor::scalar(10.0, DType::f64));
    }
    CHECK(b.grad().to_vector() == std::vector<double>{1, 1});
    CHECK(a.grad().to_vector() == std::vector<double>{11, 11});
}
