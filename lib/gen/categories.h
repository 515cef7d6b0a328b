// The 14 Sparkov categories and how much is spent in each, legitimately and by fraudsters.
//
// Legitimate amounts are a two-part mixture: a share of small charges (a log-normal around a
// few dollars: the subscription, the test charge, the coffee) and the category's main
// distribution (log-normal, or normal for the narrow ones such as fuel). The parameters were
// fitted by eye to the quantiles of the public Kaggle rows (p5 … p99 per category), so
// per-category means land within ~15% of the real file's. Shares of legitimate and fraud
// transactions per category are the full Kaggle dataset's.
#pragma once

#include <array>
#include <string_view>

namespace vigil::gen {

/// A distribution of amounts in dollars.
struct AmountModel {
  double small_share;   ///< probability of a small charge
  double small_median;  ///< log-normal median of a small charge
  double small_sigma;   ///< its log sigma
  double center;        ///< main part: median (log-normal) or mean (normal)
  double spread;        ///< main part: log sigma (log-normal) or standard deviation (normal)
  bool normal;          ///< main part is normal rather than log-normal
};

struct Category {
  std::string_view name;
  double legit_weight;  ///< share of legitimate transactions (Kaggle, %)
  AmountModel legit;
  double fraud_weight;  ///< number of Kaggle fraud transactions in the category
  AmountModel fraud;
};

inline constexpr std::size_t kCategoryCount = 14;
inline constexpr std::size_t kTravelCategory = 13;
inline constexpr std::size_t kFoodCategory = 1;
inline constexpr std::size_t kGasCategory = 2;
inline constexpr std::size_t kEntertainmentCategory = 0;

// Fraud amounts: the Kaggle fraud transactions cluster tightly per category (grocery_pos
// ~$300, shopping_net ~$1000, misc_net ~$800, gas_transport ~$10 test charges …).
inline constexpr std::array<Category, kCategoryCount> kCategories = {{
    {"entertainment", 7.2, {0.15, 4, 0.6, 55, 0.75, false}, 233, {0, 0, 0, 500, 0.2, false}},
    {"food_dining", 7.0, {0.20, 5, 0.6, 48, 0.65, false}, 151, {0, 0, 0, 115, 0.2, false}},
    {"gas_transport", 10.2, {0.03, 8, 0.4, 64, 14, true}, 618, {0, 0, 0, 10, 0.3, false}},
    {"grocery_net", 3.5, {0.0, 0, 0, 56, 22, true}, 134, {0, 0, 0, 12, 0.25, false}},
    {"grocery_pos", 9.5, {0.0, 0, 0, 103, 0.45, false}, 1743, {0, 0, 0, 305, 25, true}},
    {"health_fitness", 6.6, {0.20, 5, 0.6, 50, 0.75, false}, 133, {0, 0, 0, 20, 0.25, false}},
    {"home", 9.5, {0.15, 7, 0.6, 50, 0.7, false}, 198, {0, 0, 0, 255, 0.25, false}},
    {"kids_pets", 8.7, {0.15, 7, 0.6, 50, 0.7, false}, 239, {0, 0, 0, 20, 0.3, false}},
    {"misc_net", 4.9, {0.55, 5, 0.7, 90, 1.0, false}, 915, {0, 0, 0, 790, 0.15, false}},
    {"misc_pos", 6.1, {0.55, 6, 0.7, 65, 1.0, false}, 250, {0, 0, 0, 240, 0.5, false}},
    {"personal_care", 7.0, {0.20, 4, 0.6, 42, 0.75, false}, 220, {0, 0, 0, 22, 0.3, false}},
    {"shopping_net", 7.5, {0.60, 5, 0.6, 90, 1.0, false}, 1713, {0, 0, 0, 980, 0.15, false}},
    {"shopping_pos", 9.0, {0.60, 6, 0.6, 80, 1.0, false}, 843, {0, 0, 0, 850, 0.18, false}},
    {"travel", 3.1, {0.80, 5, 0.5, 400, 0.5, false}, 116, {0, 0, 0, 9, 0.4, false}},
}};

}  // namespace vigil::gen
