#include <catch2/catch.hpp>
#include "vigil/features.h"
TEST_CASE("placeholder", "[features]") {}
