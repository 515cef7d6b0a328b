// The synthetic world behind vigil::Generator: cards with habits, merchants per category,
// fraud bursts scheduled up front, and a day-at-a-time simulation that sorts one day of records
// (plus the events that fall due in it) before handing them out.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "gen/categories.h"
#include "gen/random.h"
#include "gen/tables.h"
#include "vigil/generate.h"

namespace vigil {
namespace {

using gen::kCategories;
using gen::kCategoryCount;
using gen::kCompanyNameParts;
using gen::kFemaleFirstNames;
using gen::kJobs;
using gen::kLastNames;
using gen::kMaleFirstNames;
using gen::kPlaces;
using gen::kStreetSuffixes;
using gen::Rng;

constexpr std::uint64_t kMaxCards = 100'000'000;
constexpr int kMaxDays = 36'600;  // a century
constexpr double kMerchantsPerCard = 0.8;
constexpr std::size_t kMinMerchantsPerCategory = 2;
constexpr std::size_t kMaxMerchants = 200'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

// Card habits. Rates average ~2.2 transactions a day (Kaggle: ~1.8), from 0.3 to 10.
constexpr double kRateMedian = 1.8;
constexpr double kRateSigma = 0.6;
constexpr double kMinRate = 0.3;
constexpr double kMaxRate = 10.0;
constexpr double kSpendSigma = 0.25;         // per-card spend level, log sigma
constexpr double kCategoryTasteSigma = 0.6;  // per-card category preference, log sigma
constexpr double kNightOwlShare = 0.08;
constexpr double kSplurgeChance = 0.003;    // legit big-ticket purchase
constexpr double kTripStartChance = 0.004;  // per card and day: a trip every ~8 months
constexpr double kTripRateFactor = 1.3;
constexpr double kTripCategoryChance = 0.35;  // a trip transaction is travel / food / fuel …

// Fraud bursts: 2–15 transactions over one to three nights.
constexpr double kBurstExtraMean = 4.5;
constexpr std::uint32_t kMaxBurst = 15;
constexpr double kRemoteBurstChance = 0.3;
constexpr double kRemoteTransactionChance = 0.85;

// Events.
constexpr double kFraudDisputeChance = 0.85;
constexpr double kLegitDisputeChance = 0.0005;
constexpr double kMinDisputeDelayDays = 1;
constexpr double kMaxDisputeDelayDays = 30;
constexpr double kStolenReportChance = 0.6;
constexpr double kStolenReportDelayDays = 1.5;  // mean, after the last fraud transaction
constexpr double kStolenFlagExpiryChance = 0.8;
constexpr int kStolenFlagDays = 90;
constexpr double kCardUnflagChance = 0.25;
constexpr double kMerchantFlagPerDayPer800 = 0.03;
constexpr int kMerchantFlagDays = 14;
constexpr double kMerchantUnflagChance = 0.5;

// Wall-clock hour weights. Kaggle's legitimate traffic runs at about half rate from midnight
// to noon and full rate from noon to midnight; fraud is mostly 22:00–04:00.
constexpr std::array<double, 24> kHourWeights = {0.55, 0.45, 0.40, 0.38, 0.36, 0.38, 0.40, 0.42,
                                                 0.45, 0.48, 0.50, 0.52, 0.95, 1.00, 1.00, 1.05,
                                                 1.00, 0.98, 0.98, 1.00, 0.98, 0.98, 0.97, 0.95};
constexpr std::array<double, 24> kNightOwlHourWeights = {
    0.95, 0.90, 0.85, 0.80, 0.60, 0.45, 0.40, 0.42, 0.45, 0.50, 0.60, 0.70,
    0.85, 0.90, 0.90, 0.95, 0.95, 0.95, 0.95, 1.00, 1.00, 1.00, 1.00, 1.00};
constexpr std::array<double, 24> kFraudHourWeights = {12,  12,  11,  10,  1.1, 1.1, 1.1, 1.1,
                                                      1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1,
                                                      1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 25,  30};
// Monday first; mean 1, busier around the weekend.
constexpr std::array<double, 7> kWeekdayWeights = {1.12, 0.93, 0.88, 0.92, 0.98, 1.05, 1.12};

// Card number shapes by issuer (length, prefix, weight): the Faker mix Sparkov draws from.
struct CardShape {
  int length;
  std::string_view prefix;
  double weight;
};
constexpr std::array<CardShape, 10> kCardShapes = {{
    {16, "4", 30},    // Visa
    {16, "5", 12},    // Mastercard
    {16, "35", 8},    // JCB
    {15, "34", 5},    // Amex
    {15, "37", 5},    // Amex
    {15, "2131", 6},  // JCB 15
    {14, "36", 10},   // Diners
    {19, "4", 9},     // Visa 19
    {13, "4", 7},     // Visa 13
    {12, "50", 8},    // Maestro
}};

// Cumulative weights for Rng::pick.
template <std::size_t N>
constexpr std::array<double, N> cumulative(const std::array<double, N>& weights) {
  std::array<double, N> out{};
  double sum = 0;
  for (std::size_t i = 0; i < N; ++i) out[i] = sum += weights[i];
  return out;
}

constexpr std::array<double, kCardShapes.size()> card_shape_weights() {
  std::array<double, kCardShapes.size()> w{};
  for (std::size_t i = 0; i < kCardShapes.size(); ++i) w[i] = kCardShapes[i].weight;
  return w;
}

constexpr std::array<double, kCategoryCount> fraud_category_weights() {
  std::array<double, kCategoryCount> w{};
  for (std::size_t i = 0; i < kCategoryCount; ++i) w[i] = kCategories[i].fraud_weight;
  return w;
}

constexpr auto kHourCdf = cumulative(kHourWeights);
constexpr auto kNightOwlHourCdf = cumulative(kNightOwlHourWeights);
constexpr auto kFraudHourCdf = cumulative(kFraudHourWeights);
constexpr auto kCardShapeCdf = cumulative(card_shape_weights());
constexpr auto kFraudCategoryCdf = cumulative(fraud_category_weights());

// Rounds to a multiple of 1 / scale, so that the stored double is exactly the number the text
// shows (scale 1e6: six decimals).
double round_to(double x, double scale) { return std::round(x * scale) / scale; }

// Sparkov's amounts start at $1.00; lower draws (the tails of the normal models) are spread
// over $1–$3 rather than piled on $1.00.
std::int64_t to_cents(double dollars, Rng& rng) {
  if (!(dollars >= 1.0)) dollars = rng.uniform(1.0, 3.0);
  return std::llround(dollars * 100.0);
}

double sample_dollars(const gen::AmountModel& m, Rng& rng) {
  if (m.small_share > 0 && rng.chance(m.small_share)) {
    return rng.lognormal(m.small_median, m.small_sigma);
  }
  return m.normal ? rng.normal(m.center, m.spread) : rng.lognormal(m.center, m.spread);
}

struct Card {
  std::uint64_t cc_num = 0;
  double lat = 0, lon = 0;
  StrId first = kNoStr, last = kNoStr, street = kNoStr, city = kNoStr, state = kNoStr, job = kNoStr;
  std::uint32_t zip = 0, city_pop = 0;
  std::int32_t dob = 0;
  char gender = 'F';
  bool night_owl = false;
  double rate = 1;   // transactions per day
  double spend = 1;  // amount multiplier
  std::array<double, kCategoryCount> category_cdf{};
  int trip_end_day = 0;  // exclusive; on a trip while day < trip_end_day
  std::uint16_t trip_place = 0;
};

struct Burst {
  std::uint32_t card;
  int day;
  std::uint32_t size;
  int span_days;
  bool remote;
};

// A record with its creation number: records sort by (time, seq), so equal times keep the
// order in which the simulation made them and the output does not depend on sort stability.
struct Sequenced {
  GeneratedRecord record;
  std::uint64_t seq;
};

struct SortKey {
  Micros time;
  std::uint64_t seq;
  std::uint32_t index;
  bool operator<(const SortKey& o) const noexcept {
    return time != o.time ? time < o.time : seq < o.seq;
  }
};

// Min-heap order on (time, seq).
struct LaterFirst {
  bool operator()(const Sequenced& a, const Sequenced& b) const noexcept {
    const Micros ta = a.record.time(), tb = b.record.time();
    return ta != tb ? ta > tb : a.seq > b.seq;
  }
};

}  // namespace

Status GeneratorOptions::validate() const {
  if (cards < 1 || cards > kMaxCards) {
    return {ErrorCode::kInvalidArgument,
            absl::StrFormat("cards must be in [1, %d], got %d", kMaxCards, cards)};
  }
  if (days < 1 || days > kMaxDays) {
    return {ErrorCode::kInvalidArgument,
            absl::StrFormat("days must be in [1, %d], got %d", kMaxDays, days)};
  }
  if (!(fraud_rate >= 0.0 && fraud_rate < 0.5)) {
    return {ErrorCode::kInvalidArgument,
            absl::StrFormat("fraud rate must be in [0, 0.5), got %g", fraud_rate)};
  }
  constexpr Micros kEarliest = days_from_civil(1900, 1, 1) * kMicrosPerDay;
  constexpr Micros kLatest = days_from_civil(9000, 1, 1) * kMicrosPerDay;
  if (start < kEarliest || start > kLatest) {
    return {ErrorCode::kInvalidArgument, "start must be between 1900-01-01 and 9000-01-01"};
  }
  if (start % kMicrosPerSecond != 0) {
    return {ErrorCode::kInvalidArgument, "start must be a whole second"};
  }
  return {};
}

struct Generator::Impl {
  explicit Impl(const GeneratorOptions& o)
      : options(o),
        rng(o.seed),
        id_state(o.seed ^ 0x7472616E735F6E75ULL),  // "trans_nu": ids get their own stream
        end(o.start + o.days * kMicrosPerDay),
        start_second_of_day(floor_div(o.start, kMicrosPerSecond) -
                            floor_div(o.start, kMicrosPerDay) * kSecondsPerDay) {
    for (std::size_t c = 0; c < kCategoryCount; ++c) {
      category_ids[c] = dict.intern(kCategories[c].name);
    }
    disputed = dict.intern("disputed");
    reported_stolen = dict.intern("reported stolen");
    merchant_under_review = dict.intern("merchant under review");
    make_merchants();
    make_cards();
    schedule_fraud();
  }

  // ---- the world ----------------------------------------------------------------------------

  // Faker's company formats. Random draws happen in separate statements: the evaluation
  // order of function arguments is unspecified, and the stream must not depend on the compiler.
  std::string company_name() {
    static constexpr std::array<std::string_view, 6> kSuffixes = {"Inc", "LLC",   "Ltd",
                                                                  "PLC", "Group", "and Sons"};
    auto part = [&] { return kCompanyNameParts[rng.below(kCompanyNameParts.size())]; };
    const std::uint64_t format = rng.below(3);
    std::string name = "fraud_";
    name += part();
    if (format == 0) {
      name += ' ';
      name += kSuffixes[rng.below(kSuffixes.size())];
    } else if (format == 1) {
      name += '-';
      name += part();
    } else {
      name += ", ";
      name += part();
      name += " and ";
      name += part();
    }
    return name;
  }

  void make_merchants() {
    const auto total = static_cast<std::size_t>(
        std::clamp<double>(std::round(static_cast<double>(options.cards) * kMerchantsPerCard),
                           kMinMerchantsPerCategory * kCategoryCount, kMaxMerchants));
    for (std::size_t c = 0; c < kCategoryCount; ++c) {
      const auto n = std::max<std::size_t>(
          kMinMerchantsPerCategory,
          static_cast<std::size_t>(
              std::round(static_cast<double>(total) * kCategories[c].legit_weight / 100.0)));
      auto& list = merchants[c];
      list.reserve(n);
      while (list.size() < n) {
        const std::string name = company_name();
        if (dict.find(name)) continue;  // a merchant belongs to one category
        list.push_back(dict.intern(name));
      }
      merchant_total += n;
    }
  }

  std::uint64_t card_number() {
    const CardShape& shape = kCardShapes[rng.pick(kCardShapeCdf)];
    std::array<int, 19> digits{};
    int n = 0;
    for (char ch : shape.prefix) digits[n++] = ch - '0';
    while (n < shape.length - 1) digits[n++] = static_cast<int>(rng.below(10));
    // Luhn check digit: double every second digit counting leftwards from the check digit.
    int sum = 0;
    for (int i = n - 1, k = 0; i >= 0; --i, ++k) {
      int d = digits[i];
      if (k % 2 == 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    digits[n++] = (10 - sum % 10) % 10;
    std::uint64_t number = 0;
    for (int i = 0; i < n; ++i) number = number * 10 + static_cast<std::uint64_t>(digits[i]);
    return number;
  }

  std::string street_address() {
    // Faker's shape: "561 Perry Cove", "43039 Riley Greens Suite 393", "9443 Cynthia Court
    // Apt. 038".
    std::string s;
    const int number_digits = 3 + static_cast<int>(rng.below(3));
    s += static_cast<char>('1' + rng.below(9));
    for (int i = 1; i < number_digits; ++i) s += static_cast<char>('0' + rng.below(10));
    s += ' ';
    s += rng.chance(0.5) ? kLastNames[rng.below(kLastNames.size())]
                         : kFemaleFirstNames[rng.below(kFemaleFirstNames.size())];
    s += ' ';
    s += kStreetSuffixes[rng.below(kStreetSuffixes.size())];
    const double unit = rng.uniform();
    if (unit < 0.5) {
      s += unit < 0.25 ? " Suite " : " Apt. ";
      for (int i = 0; i < 3; ++i) s += static_cast<char>('0' + rng.below(10));
    }
    return s;
  }

  void make_cards() {
    cards.resize(options.cards);
    absl::flat_hash_set<std::uint64_t> numbers;
    numbers.reserve(options.cards);
    const std::int64_t start_day = floor_div(options.start, kMicrosPerDay);
    for (Card& card : cards) {
      do card.cc_num = card_number();
      while (!numbers.insert(card.cc_num).second);
      card.gender = rng.chance(0.55) ? 'F' : 'M';
      card.first =
          dict.intern(card.gender == 'F' ? kFemaleFirstNames[rng.below(kFemaleFirstNames.size())]
                                         : kMaleFirstNames[rng.below(kMaleFirstNames.size())]);
      card.last = dict.intern(kLastNames[rng.below(kLastNames.size())]);
      card.street = dict.intern(street_address());
      const gen::Place& home = kPlaces[rng.below(kPlaces.size())];
      card.city = dict.intern(home.city);
      card.state = dict.intern(home.state);
      card.zip = home.zip;
      card.city_pop = home.population;
      card.lat = home.lat;
      card.lon = home.lon;
      card.job = dict.intern(kJobs[rng.below(kJobs.size())]);
      const double age_years = std::clamp(rng.normal(46, 17), 18.0, 90.99);
      card.dob = static_cast<std::int32_t>(
          start_day - static_cast<std::int64_t>(std::ceil(age_years * 365.2425)));
      card.rate = std::clamp(rng.lognormal(kRateMedian, kRateSigma), kMinRate, kMaxRate);
      card.spend = rng.lognormal(1.0, kSpendSigma);
      card.night_owl = rng.chance(kNightOwlShare);
      double sum = 0;
      for (std::size_t c = 0; c < kCategoryCount; ++c) {
        sum += kCategories[c].legit_weight * rng.lognormal(1.0, kCategoryTasteSigma);
        card.category_cdf[c] = sum;
      }
      expected_legit += card.rate * options.days;
    }
  }

  // Chooses the compromised cards and their bursts so that fraud makes up fraud_rate of the
  // expected transactions: fraud / (legit + fraud) = rate.
  void schedule_fraud() {
    const double rate = options.fraud_rate;
    const auto target =
        static_cast<std::uint64_t>(std::llround(expected_legit * rate / (1 - rate)));
    absl::flat_hash_set<std::uint32_t> compromised;
    std::uint64_t planned = 0;
    while (planned < target) {
      Burst b{};
      // A card is compromised once while fresh cards remain (rejection keeps this O(1)).
      do b.card = static_cast<std::uint32_t>(rng.below(cards.size()));
      while (compromised.size() < cards.size() / 2 && !compromised.insert(b.card).second);
      b.day = static_cast<int>(rng.below(static_cast<std::uint64_t>(options.days)));
      b.size = std::min<std::uint32_t>(2 + rng.poisson(kBurstExtraMean), kMaxBurst);
      b.size = static_cast<std::uint32_t>(std::min<std::uint64_t>(b.size, target - planned));
      const double span = rng.uniform();
      b.span_days = span < 0.5 ? 1 : span < 0.8 ? 2 : 3;
      b.remote = rng.chance(kRemoteBurstChance);
      planned += b.size;
      bursts.push_back(b);
    }
    std::stable_sort(bursts.begin(), bursts.end(),
                     [](const Burst& a, const Burst& b) { return a.day < b.day; });
  }

  // ---- one day --------------------------------------------------------------------------------

  // The event time of wall-clock second `second_of_day` within simulated day `day`, which
  // begins at start + day × 24h (start need not be midnight).
  Micros time_at(int day, std::int64_t second_of_day) const {
    std::int64_t offset = (second_of_day - start_second_of_day) % kSecondsPerDay;
    if (offset < 0) offset += kSecondsPerDay;
    return options.start + day * kMicrosPerDay + offset * kMicrosPerSecond;
  }

  std::int64_t second_of_day(std::span<const double> cdf) {
    return static_cast<std::int64_t>(rng.pick(cdf)) * 3600 +
           static_cast<std::int64_t>(rng.below(3600));
  }

  TransId next_trans_num() {
    static constexpr char kHex[] = "0123456789abcdef";
    TransId id;
    for (int w = 0; w < 2; ++w) {
      std::uint64_t bits = gen::splitmix64(id_state);
      for (int i = 0; i < 16; ++i, bits >>= 4) id.bytes[w * 16 + 15 - i] = kHex[bits & 15];
    }
    id.size = 32;
    return id;
  }

  Sequenced& new_transaction(const Card& card, std::size_t category, Micros time,
                             std::int64_t cents, double near_lat, double near_lon, bool fraud,
                             std::vector<Sequenced>& into) {
    Sequenced& s = into.emplace_back();
    s.seq = seq++;
    s.record.kind = RecordKind::kTransaction;
    Transaction& tx = s.record.transaction;
    tx.time = time;
    tx.unix_time = floor_div(time, kMicrosPerSecond);
    tx.cc_num = card.cc_num;
    tx.amt_cents = cents;
    tx.lat = card.lat;
    tx.lon = card.lon;
    // Sparkov places every merchant within a degree of where the card is used.
    tx.merch_lat = round_to(near_lat + rng.uniform(-1, 1), 1e6);
    tx.merch_lon = round_to(near_lon + rng.uniform(-1, 1), 1e6);
    const auto& candidates = merchants[category];
    tx.merchant = candidates[rng.below(candidates.size())];
    tx.category = category_ids[category];
    tx.first = card.first;
    tx.last = card.last;
    tx.street = card.street;
    tx.city = card.city;
    tx.state = card.state;
    tx.job = card.job;
    tx.zip = card.zip;
    tx.city_pop = card.city_pop;
    tx.dob = card.dob;
    tx.gender = card.gender;
    tx.is_fraud = fraud ? 1 : 0;
    tx.trans_num = next_trans_num();
    return s;
  }

  void push_pending(Sequenced&& s) {
    if (s.record.time() >= end) return;  // beyond the stream: not yet happened
    pending.push_back(std::move(s));
    std::push_heap(pending.begin(), pending.end(), LaterFirst{});
  }

  void maybe_dispute(const Transaction& tx, double chance) {
    if (!options.with_events || !rng.chance(chance)) return;
    Sequenced s;
    s.seq = seq++;
    s.record.kind = RecordKind::kStatus;
    s.record.status.trans_num = tx.trans_num;
    s.record.status.status = disputed;
    s.record.status.time =
        tx.time + static_cast<Micros>(rng.uniform(kMinDisputeDelayDays, kMaxDisputeDelayDays) *
                                      kSecondsPerDay) *
                      kMicrosPerSecond;
    push_pending(std::move(s));
  }

  void flag_event(Field entity, std::uint64_t key, Micros time, Micros until, StrId reason,
                  bool flagged) {
    Sequenced s;
    s.seq = seq++;
    s.record.kind = RecordKind::kFlag;
    FlagChange& f = s.record.flag;
    f.entity = entity;
    f.key = key;
    f.flagged = flagged;
    f.time = time;
    f.until = until;
    f.reason = flagged ? reason : kNoStr;
    push_pending(std::move(s));
  }

  static Micros whole_seconds(double days) {
    return static_cast<Micros>(days * kSecondsPerDay) * kMicrosPerSecond;
  }

  void run_burst(const Burst& b, std::vector<Sequenced>& scratch) {
    const Card& card = cards[b.card];
    const gen::Place& away = kPlaces[rng.below(kPlaces.size())];
    Micros last = 0;
    scratch.clear();
    for (std::uint32_t i = 0; i < b.size; ++i) {
      const int day = std::min(b.day + static_cast<int>(rng.below(b.span_days)), options.days - 1);
      const Micros t = time_at(day, second_of_day(kFraudHourCdf));
      const std::size_t category = rng.pick(kFraudCategoryCdf);
      const std::int64_t cents = to_cents(sample_dollars(kCategories[category].fraud, rng), rng);
      const bool far = b.remote && rng.chance(kRemoteTransactionChance);
      Sequenced& s = new_transaction(card, category, t, cents, far ? away.lat : card.lat,
                                     far ? away.lon : card.lon, true, scratch);
      last = std::max(last, t);
      maybe_dispute(s.record.transaction, kFraudDisputeChance);
    }
    for (Sequenced& s : scratch) push_pending(std::move(s));
    if (options.with_events && rng.chance(kStolenReportChance)) {
      const Micros flagged_at =
          last + kMicrosPerHour * 2 + whole_seconds(rng.exponential(kStolenReportDelayDays));
      const Micros until = rng.chance(kStolenFlagExpiryChance)
                               ? flagged_at + kStolenFlagDays * kMicrosPerDay
                               : std::numeric_limits<Micros>::max();
      flag_event(Field::kCcNum, card.cc_num, flagged_at, until, reported_stolen, true);
      if (rng.chance(kCardUnflagChance)) {
        flag_event(Field::kCcNum, card.cc_num, flagged_at + whole_seconds(rng.uniform(10, 40)),
                   std::numeric_limits<Micros>::max(), kNoStr, false);
      }
    }
  }

  void maybe_flag_merchant(int day) {
    const double chance =
        std::min(1.0, kMerchantFlagPerDayPer800 * static_cast<double>(merchant_total) / 800.0);
    if (!rng.chance(chance)) return;
    const auto& list = merchants[rng.below(kCategoryCount)];
    const StrId merchant = list[rng.below(list.size())];
    const Micros at = time_at(day, static_cast<std::int64_t>(rng.below(kSecondsPerDay)));
    flag_event(Field::kMerchant, merchant, at, at + kMerchantFlagDays * kMicrosPerDay,
               merchant_under_review, true);
    if (rng.chance(kMerchantUnflagChance)) {
      flag_event(Field::kMerchant, merchant, at + whole_seconds(rng.uniform(2, 10)),
                 std::numeric_limits<Micros>::max(), kNoStr, false);
    }
  }

  void legit_day(Card& card, int day, double weekday_weight) {
    if (day >= card.trip_end_day && rng.chance(kTripStartChance)) {
      card.trip_end_day = day + 2 + static_cast<int>(rng.poisson(3));
      card.trip_place = static_cast<std::uint16_t>(rng.below(kPlaces.size()));
    }
    const bool on_trip = day < card.trip_end_day;
    const double rate = card.rate * weekday_weight * (on_trip ? kTripRateFactor : 1.0);
    const std::uint32_t n = rng.poisson(rate);
    const std::span<const double> hours = card.night_owl ? std::span<const double>(kNightOwlHourCdf)
                                                         : std::span<const double>(kHourCdf);
    for (std::uint32_t i = 0; i < n; ++i) {
      const Micros t = time_at(day, second_of_day(hours));
      std::size_t category;
      if (on_trip && rng.chance(kTripCategoryChance)) {
        static constexpr std::array<std::size_t, 4> kTripCategories = {
            gen::kTravelCategory, gen::kFoodCategory, gen::kGasCategory,
            gen::kEntertainmentCategory};
        category = kTripCategories[rng.below(kTripCategories.size())];
      } else {
        category = rng.pick(card.category_cdf);
      }
      double dollars = sample_dollars(kCategories[category].legit, rng) * card.spend;
      if (rng.chance(kSplurgeChance)) dollars *= rng.uniform(3, 8);
      const gen::Place& place = kPlaces[card.trip_place];
      Sequenced& s =
          new_transaction(card, category, t, to_cents(dollars, rng), on_trip ? place.lat : card.lat,
                          on_trip ? place.lon : card.lon, false, today);
      maybe_dispute(s.record.transaction, kLegitDisputeChance);
    }
  }

  void simulate_day(int day) {
    today.clear();
    order.clear();
    position = 0;
    if (options.with_events) maybe_flag_merchant(day);
    while (next_burst < bursts.size() && bursts[next_burst].day == day) {
      run_burst(bursts[next_burst++], burst_scratch);
    }
    const Micros day_start = options.start + day * kMicrosPerDay;
    const double weekday_weight = kWeekdayWeights[static_cast<std::size_t>(weekday_of(day_start))];
    for (Card& card : cards) legit_day(card, day, weekday_weight);
    const Micros day_end = day_start + kMicrosPerDay;
    while (!pending.empty() && pending.front().record.time() < day_end) {
      std::pop_heap(pending.begin(), pending.end(), LaterFirst{});
      today.push_back(std::move(pending.back()));
      pending.pop_back();
    }
    order.reserve(today.size());
    for (std::size_t i = 0; i < today.size(); ++i) {
      order.push_back({today[i].record.time(), today[i].seq, static_cast<std::uint32_t>(i)});
    }
    std::sort(order.begin(), order.end());
  }

  bool next(GeneratedRecord& out) {
    while (position == order.size()) {
      if (day >= options.days) return false;
      simulate_day(day++);
    }
    out = today[order[position++].index].record;
    switch (out.kind) {
      case RecordKind::kTransaction:
        ++stats.transactions;
        stats.fraud_transactions += out.transaction.is_fraud == 1;
        break;
      case RecordKind::kStatus: ++stats.status_changes; break;
      case RecordKind::kFlag: ++(out.flag.flagged ? stats.flags : stats.unflags); break;
    }
    return true;
  }

  GeneratorOptions options;
  Dictionary dict;
  Rng rng;
  std::uint64_t id_state;
  Micros end;
  std::int64_t start_second_of_day;
  std::array<StrId, kCategoryCount> category_ids{};
  StrId disputed = kNoStr, reported_stolen = kNoStr, merchant_under_review = kNoStr;
  std::array<std::vector<StrId>, kCategoryCount> merchants;
  std::size_t merchant_total = 0;
  std::vector<Card> cards;
  double expected_legit = 0;
  std::vector<Burst> bursts;
  std::size_t next_burst = 0;

  int day = 0;
  std::uint64_t seq = 0;
  std::vector<Sequenced> today;    // records of the current day, unsorted
  std::vector<SortKey> order;      // today's emission order
  std::size_t position = 0;        // next entry of `order`
  std::vector<Sequenced> pending;  // future records, a min-heap on (time, seq)
  std::vector<Sequenced> burst_scratch;
  GeneratorStats stats;
};

Result<Generator> Generator::create(const GeneratorOptions& options) {
  if (Status s = options.validate(); !s.ok()) return s;
  return Generator(std::make_unique<Impl>(options));
}

Generator::Generator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Generator::~Generator() = default;
Generator::Generator(Generator&&) noexcept = default;
Generator& Generator::operator=(Generator&&) noexcept = default;

bool Generator::next(GeneratedRecord& out) { return impl_->next(out); }
const Dictionary& Generator::dictionary() const noexcept { return impl_->dict; }
const GeneratorOptions& Generator::options() const noexcept { return impl_->options; }
std::size_t Generator::merchant_count() const noexcept { return impl_->merchant_total; }
const GeneratorStats& Generator::stats() const noexcept { return impl_->stats; }

}  // namespace vigil
