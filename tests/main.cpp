// The Catch2 test runner's main(); every tests/test_*.cpp registers its cases with it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
