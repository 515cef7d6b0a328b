#include <catch2/catch.hpp>
#include "vigil/features.h"
TEST_CASE("placeholder2", "[features]") {}
