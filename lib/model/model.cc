#include <bit>
#include <cmath>
#include <limits>

#include "vigil/model.h"

#include "model/trig.h"

namespace vigil {
namespace {

constexpr std::string_view kFieldNames[kFieldCount] = {"trans_date_trans_time",
                                                       "cc_num",
                                                       "merchant",
                                                       "category",
                                                       "amt",
                                                       "first",
                                                       "last",
                                                       "gender",
                                                       "street",
                                                       "city",
                                                       "state",
                                                       "zip",
                                                       "lat",
                                                       "long",
                                                       "city_pop",
                                                       "job",
                                                       "dob",
                                                       "trans_num",
                                                       "unix_time",
                                                       "merch_lat",
                                                       "merch_long",
                                                       "is_fraud"};

}  // namespace

std::string_view field_name(Field f) noexcept { return kFieldNames[static_cast<std::size_t>(f)]; }

std::optional<Field> field_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

bool is_string_field(Field f) noexcept {
  switch (f) {
    case Field::kMerchant:
    case Field::kCategory:
    case Field::kFirst:
    case Field::kLast:
    case Field::kStreet:
    case Field::kCity:
    case Field::kState:
    case Field::kJob: return true;
    default: return false;
  }
}

bool is_key_field(Field f) noexcept {
  return is_string_field(f) || f == Field::kCcNum || f == Field::kZip || f == Field::kGender;
}

std::string_view action_name(Action a) noexcept {
  switch (a) {
    case Action::kApprove: return "approve";
    case Action::kReview: return "review";
    case Action::kDecline: return "decline";
  }
  return "approve";
}

TransactionBatch::TransactionBatch(std::size_t capacity)
    : size_(0), capacity_(std::bit_ceil(std::max<std::size_t>(capacity, 16))) {
  const std::size_t c = capacity_;
  time = decltype(time)(c);
  unix_time = decltype(unix_time)(c);
  cc_num = decltype(cc_num)(c);
  amt_cents = decltype(amt_cents)(c);
  lat = decltype(lat)(c);
  lon = decltype(lon)(c);
  merch_lat = decltype(merch_lat)(c);
  merch_lon = decltype(merch_lon)(c);
  merchant = decltype(merchant)(c);
  category = decltype(category)(c);
  first = decltype(first)(c);
  last = decltype(last)(c);
  street = decltype(street)(c);
  city = decltype(city)(c);
  state = decltype(state)(c);
  job = decltype(job)(c);
  zip = decltype(zip)(c);
  city_pop = decltype(city_pop)(c);
  dob = decltype(dob)(c);
  gender = decltype(gender)(c);
  is_fraud = decltype(is_fraud)(c);
  trans_num = decltype(trans_num)(c);
}

bool TransactionBatch::push_back(const Transaction& tx) noexcept {
  if (size_ == capacity_) return false;
  const std::size_t i = size_++;
  time[i] = tx.time;
  unix_time[i] = tx.unix_time;
  cc_num[i] = tx.cc_num;
  amt_cents[i] = tx.amt_cents;
  lat[i] = tx.lat;
  lon[i] = tx.lon;
  merch_lat[i] = tx.merch_lat;
  merch_lon[i] = tx.merch_lon;
  merchant[i] = tx.merchant;
  category[i] = tx.category;
  first[i] = tx.first;
  last[i] = tx.last;
  street[i] = tx.street;
  city[i] = tx.city;
  state[i] = tx.state;
  job[i] = tx.job;
  zip[i] = tx.zip;
  city_pop[i] = tx.city_pop;
  dob[i] = tx.dob;
  gender[i] = tx.gender;
  is_fraud[i] = tx.is_fraud;
  trans_num[i] = tx.trans_num;
  return true;
}

Transaction TransactionBatch::row(std::size_t i) const noexcept {
  Transaction tx;
  tx.time = time[i];
  tx.unix_time = unix_time[i];
  tx.cc_num = cc_num[i];
  tx.amt_cents = amt_cents[i];
  tx.lat = lat[i];
  tx.lon = lon[i];
  tx.merch_lat = merch_lat[i];
  tx.merch_lon = merch_lon[i];
  tx.merchant = merchant[i];
  tx.category = category[i];
  tx.first = first[i];
  tx.last = last[i];
  tx.street = street[i];
  tx.city = city[i];
  tx.state = state[i];
  tx.job = job[i];
  tx.zip = zip[i];
  tx.city_pop = city_pop[i];
  tx.dob = dob[i];
  tx.gender = gender[i];
  tx.is_fraud = is_fraud[i];
  tx.trans_num = trans_num[i];
  return tx;
}

std::uint64_t TransactionBatch::key(Field field, std::size_t i) const noexcept {
  switch (field) {
    case Field::kCcNum: return cc_num[i];
    case Field::kMerchant: return merchant[i];
    case Field::kCategory: return category[i];
    case Field::kFirst: return first[i];
    case Field::kLast: return last[i];
    case Field::kStreet: return street[i];
    case Field::kCity: return city[i];
    case Field::kState: return state[i];
    case Field::kJob: return job[i];
    case Field::kZip: return zip[i];
    case Field::kGender: return static_cast<unsigned char>(gender[i]);
    default: return 0;
  }
}

namespace {
constexpr double kEarthRadiusKm = 6371.0088;
constexpr double kRad = 3.14159265358979323846 / 180.0;
}  // namespace

// The trig kernels are error-free steps and plain roundings: a compiler that may fuse a*b+c
// into an FMA (any -march with FMA; GCC does so even in ISO mode) would change their bits from
// one build to another. GCC fuses late, in the function the kernels are inlined into: these.
#if defined(__clang__)
#pragma clang fp contract(off)  // to the end of the file (and in trig.h, for its bodies)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

double haversine_cos_lat(double lat) noexcept { return detail::cos(lat * kRad); }

double haversine_km_cos(double lat1, double lon1, double cos_lat1, double lat2, double lon2,
                        double cos_lat2) noexcept {
  // Missing coordinates are common (NaN): answer NaN without the transcendental calls.
  if (std::isnan(lat1) || std::isnan(lon1) || std::isnan(lat2) || std::isnan(lon2)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double hdlat = (lat2 - lat1) * (kRad / 2);  // = (... * kRad) / 2: halving is exact
  const double hdlon = (lon2 - lon1) * (kRad / 2);
  double sdlat;
  double sdlon;
  if (std::fabs(hdlat) <= detail::kPio4Hi && std::fabs(hdlon) <= detail::kPio4Hi) [[likely]] {
    // Points less than a quarter turn apart in latitude and in longitude (nearly all pairs):
    // both sines in the two lanes of one SSE2 register (on any target a GCC vector), the
    // operations of detail::sin lane by lane, so its bits at the instruction cost of one.
    using Double2 = double __attribute__((vector_size(16)));
    const Double2 s = detail::sin_kernel(Double2{hdlat, hdlon});
    sdlat = s[0];
    sdlon = s[1];
  } else {
    sdlat = detail::sin(hdlat);
    sdlon = detail::sin(hdlon);
  }
  const double a = sdlat * sdlat + cos_lat1 * cos_lat2 * sdlon * sdlon;
  return 2 * kEarthRadiusKm * detail::asin_sqrt(a > 1.0 ? 1.0 : a);  // NaN stays NaN
}

double haversine_km(double lat1, double lon1, double lat2, double lon2) noexcept {
  return haversine_km_cos(lat1, lon1, haversine_cos_lat(lat1), lat2, lon2, haversine_cos_lat(lat2));
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

}  // namespace vigil
