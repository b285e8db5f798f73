// Tensor basics: factories, views sharing storage, contiguous, dtype conversion, printing,
// and the errors of misuse.
#include "tests/test_util.h"

using namespace qbh;

TEST_CASE("tensor: factories, shape and values", "[tensor]") {
    Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.strides() == Strides{3, 1});
    CHECK(t.numel() == 6);
    CHECK(t.dtype() == DType::f32);
    CHECK(t.is_contiguous());
    CHECK(t.at({1, 2}) == 6.0);
    CHECK(Tensor::zeros({3}).to_vector() == std::vector<double>{0, 0, 0});
    CHECK(Tensor::full({2}, 2.5, DType::f64).to_vector() == std::vector<double>{2.5, 2.5});
    CHECK(Tensor::arange(4, DType::i64).to_vector() == std::vector<double>{0, 1, 2, 3});
    CHECK(Tensor::scalar(3.0).item() == 3.0);
}

TEST_CASE("tensor: views share storage", "[tensor]") {
    Tensor t = Tensor::from_vector({0, 1, 2, 3, 4, 5}, {2, 3});
    Tensor tt = t.transpose(0, 1);
    CHECK(tt.shape() == Shape{3, 2});
    CHECK(tt.storage() == t.storage());
    CHECK_FALSE(tt.is_contiguous());
    CHECK(tt.at({2, 1}) == 5.0);
    CHECK(tt.contiguous().to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});

    Tensor s = t.slice(1, 1, 3);
    CHECK(s.shape() == Shape{2, 2});
    CHECK(s.to_vector() == std::vector<double>{1, 2, 4, 5});
    Tensor stepped = t.reshape({6}).slice(0, 0, 6, 2);
    CHECK(stepped.to_vector() == std::vector<double>{0, 2, 4});
    CHECK(t.slice(1, -2, 3).to_vector() == std::vector<double>{1, 2, 4, 5});

    Tensor e = Tensor::from_vector({1, 2}, {2, 1}).expand({2, 3});
    CHECK(e.strides() == Strides{1, 0});
    CHECK(e.to_vector() == std::vector<double>{1, 1, 1, 2, 2, 2});

    Tensor r = t.reshape({3, -1});
    CHECK(r.shape() == Shape{3, 2});
    CHECK(r.storage() == t.storage());
    // writing through a view is visible in the base
    NoGradGuard ng;
    Tensor col = t.select(1, 0);
    fill_(col, 9.0);
    CHECK(t.to_vector() == std::vector<double>{9, 1, 2, 9, 4, 5});

    CHECK(t.unsqueeze(0).shape() == Shape{1, 2, 3});
    CHECK(t.unsqueeze(-1).shape() == Shape{2, 3, 1});
    CHECK(t.unsqueeze(0).squeeze(0).shape() == Shape{2, 3});
    CHECK(Tensor::zeros({2, 3, 4}).flatten(1).shape() == Shape{2, 12});
    CHECK(Tensor::zeros({2, 3, 4}).permute({2, 0, 1}).shape() == Shape{4, 2, 3});
}

TEST_CASE("tensor: dtype conversions round trip, bf16 rounds to nearest even", "[tensor]") {
    Tensor t = Tensor::from_vector({1.5, -2.25, 3.0}, {3}, DType::f32);
    CHECK(t.to(DType::f64).to_vector() == std::vector<double>{1.5, -2.25, 3.0});
    CHECK(t.to(DType::i64).to_vector() == std::vector<double>{1, -2, 3});
    CHECK(t.to(DType::bf16).to(DType::f32).to_vector() == std::vector<double>{1.5, -2.25, 3.0});
    // 1 + 2^-8 is exactly halfway between two bf16 values; ties go to the even mantissa (1.0)
    CHECK(bf16::from_float(1.0f + 1.0f / 256).to_float() == 1.0f);
    CHECK(bf16::from_float(1.0f + 3.0f / 256).to_float() == 1.0f + 4.0f / 256);
}

TEST_CASE("tensor: printing is readable", "[tensor]") {
    Tensor t = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
    std::string s = t.to_string();
    CHECK(s.find("f32[2, 2] cpu") != std::string::npos);
    CHECK(s.find("4.0000") != std::string::npos);
    Tensor big = Tensor::arange(100, DType::i64);
    CHECK(big.to_string().find("...") != std::string::npos);
    CHECK(Tensor().to_string() == "Tensor(undefined)");
}

TEST_CASE("tensor: misuse throws qbh::Error naming the op and shapes", "[tensor][errors]") {
    Tensor t = Tensor::zeros({2, 3});
    CHECK_THROWS_WITH(t.reshape({4, 2}), Catch::Contains("reshape") && Catch::Contains("[2, 3]"));
    CHECK_THROWS_WITH(t.size(2), Catch::Contains("axis 2 is out of range"));
    CHECK_THROWS_WITH(t.transpose(0, 1).view({6}), Catch::Contains("not contiguous"));
    CHECK_THROWS_WITH(t.expand({2, 4}), Catch::Contains("expand"));
    CHECK_THROWS_WITH(t.permute({0, 0}), Catch::Contains("twice"));
    CHECK_THROWS_WITH(t.squeeze(0), Catch::Contains("expected 1"));
    CHECK_THROWS_WITH(Tensor::from_vector({1, 2}, {3}), Catch::Contains("cannot fill"));
    CHECK_THROWS_WITH(t.data<double>(), Catch::Contains("asked for f64"));
    CHECK_THROWS_AS(Tensor().shape(), Error);
    CHECK_THROWS_WITH(t.item(), Catch::Contains("one element"));
}

TEST_CASE("tensor: a CUDA tensor in a CPU-only build or machine gives a clear error",
          "[tensor][cuda]") {
    if (cuda_available()) {
        Tensor t = Tensor::from_vector({1, 2, 3}, {3}).to(Device::cuda);
        CHECK(t.is_cuda());
        CHECK(t.to(Device::cpu).to_vector() == std::vector<double>{1, 2, 3});
    } else {
        CHECK_THROWS_AS(Tensor::from_vector({1, 2, 3}, {3}).to(Device::cuda), Error);
    }
}
