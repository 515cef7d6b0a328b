// Reference tables of the generator (see tables.cc for their provenance).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace vigil::gen {

/// A real US town as the Sparkov data gives it.
struct Place {
  std::string_view city;
  std::string_view state;
  std::uint32_t zip;
  double lat;
  double lon;
  std::uint32_t population;
};

extern const std::array<Place, 200> kPlaces;
extern const std::array<std::string_view, 120> kFemaleFirstNames;
extern const std::array<std::string_view, 120> kMaleFirstNames;
extern const std::array<std::string_view, 200> kLastNames;
extern const std::array<std::string_view, 200> kCompanyNameParts;
extern const std::array<std::string_view, 100> kStreetSuffixes;
extern const std::array<std::string_view, 160> kJobs;

}  // namespace vigil::gen
