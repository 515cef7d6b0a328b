#include "vigil/features.h"
#include <catch2/catch.hpp>
TEST_CASE("placeholder", "[features]") {}
