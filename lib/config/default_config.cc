// The built-in default configuration: what a new user gets without writing anything.
//
// Features are the velocity and deviation signals of card fraud in Sparkov-schema data; the
// rules encode the patterns of that data that are precise on their own (flags, night-time and
// online sprees, impossible travel, merchants with many disputes); the logistic model's terms
// and weights come from `vigil train` on generator seed 102 (4000 cards, 90 days), starting
// from examples/configs/default-base.json. README, "Detection quality", has the command that
// reproduces it and the table measured on seeds it was not tuned on.
#include "vigil/config.h"

namespace vigil {

std::string_view default_config_json() noexcept {
  return R"json({
  "version": "default-2+trained",
  "lateness": "10m",
  "late_policy": "accept_as_arrival",
  "features": [
    {"name": "card_count_1h", "key": "cc_num", "agg": "count", "window": "1h"},
    {"name": "card_count_24h", "key": "cc_num", "agg": "count", "window": "24h"},
    {"name": "card_amt_sum_24h", "key": "cc_num", "agg": "sum", "field": "amt", "window": "24h"},
    {"name": "card_amt_max_24h", "key": "cc_num", "agg": "max", "field": "amt", "window": "24h"},
    {"name": "card_amt_sum_30d", "key": "cc_num", "agg": "sum", "field": "amt", "window": "30d"},
    {"name": "card_amt_avg_30d", "key": "cc_num", "agg": "avg", "field": "amt", "window": "30d"},
    {"name": "card_amt_std_30d", "key": "cc_num", "agg": "std", "field": "amt", "window": "30d"},
    {"name": "card_count_30d", "key": "cc_num", "agg": "count", "window": "30d"},
    {"name": "card_merchants_24h", "key": "cc_num", "agg": "distinct", "field": "merchant", "window": "24h"},
    {"name": "card_categories_24h", "key": "cc_num", "agg": "distinct", "field": "category", "window": "24h"},
    {"name": "merchant_count_1h", "key": "merchant", "agg": "count", "window": "1h", "granularity": "1m"},
    {"name": "merchant_disputes_30d", "key": "merchant", "agg": "count", "window": "30d", "events": "status:disputed"}
  ],
  "rules": [
    {"id": "FLAGGED_CARD", "when": "flagged(cc_num)", "score": 1000, "reason": "card is on the flagged list"},
    {"id": "FLAGGED_MERCHANT", "when": "flagged(merchant)", "score": 400, "reason": "merchant is on the flagged list"},
    {"id": "NIGHT_SPREE", "when": "(hour >= 22 || hour < 4) && amt > 300 && card_amt_sum_24h > 1000 && card_count_24h >= 3", "score": 400, "reason": "large night-time purchase inside a day of heavy spending"},
    {"id": "ONLINE_SPREE", "when": "in(category, [\"shopping_net\", \"misc_net\"]) && amt > 500 && card_amt_sum_24h > 1500", "score": 300, "reason": "large online purchase inside a day of heavy spending"},
    {"id": "IMPOSSIBLE_TRAVEL", "when": "kmh_from_prev > 900 && km_from_prev > 800", "score": 200, "reason": "faster than a plane since the previous purchase"},
    {"id": "DISPUTED_MERCHANT", "when": "merchant_disputes_30d >= 5", "score": 150, "reason": "merchant with many recent disputes"}
  ],
  "model": {"kind": "logistic", "bias": -10.863618473746529, "scale": 1000,
    "weights": {
      "log1p(amt)": 0.341444719980342,
      "log1p(amt) - log1p(card_amt_avg_30d)": 0.4182331588520781,
      "log1p(card_amt_sum_24h)": 1.0409561688505125,
      "log1p(card_amt_sum_24h) - log1p(max(card_amt_sum_30d - card_amt_sum_24h, 0) / 29)": -0.4161667684185553,
      "log1p(card_amt_max_24h)": -1.0273230331167384,
      "hour >= 22 || hour < 4": 1.060348839259261,
      "in(category, [\"shopping_net\", \"misc_net\", \"grocery_pos\"])": -2.26194205593301,
      "in(category, [\"shopping_pos\", \"gas_transport\"])": -1.4465470487125416,
      "card_count_24h": -0.406404295877635,
      "card_count_1h": 0.23584559732750346,
      "log1p(card_count_24h) - log1p(card_count_30d / 30)": -0.05856160922058842,
      "log1p(km_home_merchant)": 0.1539414615275713,
      "log1p(secs_since_prev)": 0.08207520109492628,
      "card_merchants_24h": -0.2731509466473601,
      "age": -0.14622145837055311,
      "(hour >= 22 || hour < 4) && amt > 200": -0.12074130995509215,
      "in(category, [\"shopping_net\", \"misc_net\", \"grocery_pos\"]) && amt > 200": 0.3943814107870013,
      "kmh_from_prev > 500": 0.09164597851999084,
      "log1p(card_amt_std_30d)": 0.4211751993206489,
      "amt > 200": 0.317939190260463,
      "amt > 500": -0.06533116644297732,
      "amt > 800": 0.012310301427139377,
      "amt < 30": 1.2102322493354183,
      "card_amt_sum_24h > 500": 0.2499735964355286,
      "card_amt_sum_24h > 1000": 0.22086932532081582,
      "card_amt_sum_24h > 2000": 0.10156667857550944,
      "card_amt_max_24h > 500 && card_count_24h >= 3": 0.23894217766365625,
      "amt < 30 && card_amt_sum_24h > 400": 0.13702245647783634,
      "(hour >= 22 || hour < 4) && card_amt_sum_24h > 500": -0.019634789316791072,
      "log1p(card_amt_sum_24h) - log1p(card_amt_avg_30d * max(card_count_30d, 1) / 30)": 1.4168875829547833,
      "card_amt_max_24h / max(card_amt_avg_30d, 1)": -0.10715280416270931,
      "in(category, [\"shopping_pos\", \"shopping_net\", \"misc_net\", \"grocery_pos\"]) && amt > 200": 0.8535712030216952,
      "in(category, [\"gas_transport\", \"grocery_pos\"]) && amt < 20": 0.48849629379863624,
      "(hour >= 22 || hour < 4) && amt > 100": 0.28098033545549067,
      "(hour >= 22 || hour < 4) && amt < 30": 0.15214783734785092,
      "card_categories_24h >= 4": 0.0068010759722900455,
      "card_count_24h >= 5 && card_amt_sum_24h > 800": 0.10934620973993961,
      "km_home_merchant > 500": 0.2185156683795098,
      "card_amt_sum_24h > 1000 && (hour >= 22 || hour < 4)": -0.029666072129117163,
      "card_count_1h >= 2 && card_amt_sum_24h > 500": 0.013794836131235444},
    "standardize": {
      "log1p(amt)": {"mean": 3.5500224093018367, "std": 1.2505959063525103},
      "log1p(amt) - log1p(card_amt_avg_30d)": {"mean": -0.6170232237218409, "std": 1.2160327088831961},
      "log1p(card_amt_sum_24h)": {"mean": 5.1241279692926245, "std": 1.1405217938036314},
      "log1p(card_amt_sum_24h) - log1p(max(card_amt_sum_30d - card_amt_sum_24h, 0) / 29)": {"mean": 0.5538265524676285, "std": 1.4193203144573827},
      "log1p(card_amt_max_24h)": {"mean": 4.550260953602481, "std": 0.9808217057951268},
      "hour >= 22 || hour < 4": {"mean": 0.22420115912928398, "std": 0.41705515147948286},
      "in(category, [\"shopping_net\", \"misc_net\", \"grocery_pos\"])": {"mean": 0.21925980011865104, "std": 0.41374501830480875},
      "in(category, [\"shopping_pos\", \"gas_transport\"])": {"mean": 0.1895094236298088, "std": 0.3919127479234584},
      "card_count_24h": {"mean": 4.074795783324967, "std": 2.5970788566528884},
      "card_count_1h": {"mean": 1.1485200565874139, "std": 0.4010231122952771},
      "log1p(card_count_24h) - log1p(card_count_30d / 30)": {"mean": 0.424562722243384, "std": 0.4835423481893119},
      "log1p(km_home_merchant)": {"mean": 4.316433824158128, "std": 0.6896077713939895},
      "log1p(secs_since_prev)": {"mean": 9.775356324803624, "std": 1.4677219731689393},
      "card_merchants_24h": {"mean": 4.07061926710172, "std": 2.591575451039004},
      "age": {"mean": 45.98775886460092, "std": 16.28842036531996},
      "(hour >= 22 || hour < 4) && amt > 200": {"mean": 0.014442568338429242, "std": 0.1193062469378107},
      "in(category, [\"shopping_net\", \"misc_net\", \"grocery_pos\"]) && amt > 200": {"mean": 0.02375028521881988, "std": 0.15227018477368315},
      "kmh_from_prev > 500": {"mean": 0.03071418792497604, "std": 0.1725422457974637},
      "log1p(card_amt_std_30d)": {"mean": 4.290080311406002, "std": 0.6744133679737485},
      "amt > 200": {"mean": 0.0546524893898599, "std": 0.22730067046420513},
      "amt > 500": {"mean": 0.010145575685666043, "std": 0.1002129880783214},
      "amt > 800": {"mean": 0.00413818281385479, "std": 0.06419546913003053},
      "amt < 30": {"mean": 0.3912216492493041, "std": 0.4880238420484614},
      "card_amt_sum_24h > 500": {"mean": 0.14235202847624698, "std": 0.34941083049323296},
      "card_amt_sum_24h > 1000": {"mean": 0.029166248345730846, "std": 0.16827233374337972},
      "card_amt_sum_24h > 2000": {"mean": 0.005125724455802492, "std": 0.07141044324635475},
      "card_amt_max_24h > 500 && card_count_24h >= 3": {"mean": 0.03274403322228814, "std": 0.17796589985354386},
      "amt < 30 && card_amt_sum_24h > 400": {"mean": 0.05619860356865788, "std": 0.23030484260012554},
      "(hour >= 22 || hour < 4) && card_amt_sum_24h > 500": {"mean": 0.033764432072285855, "std": 0.1806222444749119},
      "log1p(card_amt_sum_24h) - log1p(card_amt_avg_30d * max(card_count_30d, 1) / 30)": {"mean": 0.44475016124764966, "std": 1.195755771073651},
      "card_amt_max_24h / max(card_amt_avg_30d, 1)": {"mean": 2.111252510760598, "std": 2.0683580174128804},
      "in(category, [\"shopping_pos\", \"shopping_net\", \"misc_net\", \"grocery_pos\"]) && amt > 200": {"mean": 0.03073791813078994, "std": 0.17260677425722148},
      "in(category, [\"gas_transport\", \"grocery_pos\"]) && amt < 20": {"mean": 0.003583261077898964, "std": 0.05975300258482631},
      "(hour >= 22 || hour < 4) && amt > 100": {"mean": 0.04290421211153197, "std": 0.20264116238834576},
      "(hour >= 22 || hour < 4) && amt < 30": {"mean": 0.08753890384703145, "std": 0.2826231486629015},
      "card_categories_24h >= 4": {"mean": 0.38933235978642816, "std": 0.48759888577792804},
      "card_count_24h >= 5 && card_amt_sum_24h > 800": {"mean": 0.04147857436225072, "std": 0.1993943385127644},
      "km_home_merchant > 500": {"mean": 0.023043855245744534, "std": 0.15004278050334874},
      "card_amt_sum_24h > 1000 && (hour >= 22 || hour < 4)": {"mean": 0.008550175694793044, "std": 0.09207100624144984},
      "card_count_1h >= 2 && card_amt_sum_24h > 500": {"mean": 0.03648792953954274, "std": 0.18750082809804}}},
  "thresholds": {"review": 50, "decline": 821},
  "flags": [],
  "limits": {"idle_ttl": "0h", "cold_after": "3d", "memory_budget": 0, "status_index_size": 1048576}
}
)json";
}

}  // namespace vigil
