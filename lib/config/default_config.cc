// The built-in default configuration: what a new user gets without writing anything.
//
// Features are the velocity and deviation signals of card fraud in Sparkov-schema data; rules
// encode the patterns of that data (bursts of large purchases, often at night, in online and
// grocery categories); the model weights come from `vigil train` (see README, "Detection
// quality", for the command and the measured table on unseen seeds).
#include "vigil/config.h"

namespace vigil {

std::string_view default_config_json() noexcept {
  return R"json({
  "version": "default-1",
  "lateness": "10m",
  "late_policy": "accept_as_arrival",
  "features": [
    {"name": "card_count_1h", "key": "cc_num", "agg": "count", "window": "1h"},
    {"name": "card_count_24h", "key": "cc_num", "agg": "count", "window": "24h"},
    {"name": "card_amt_sum_24h", "key": "cc_num", "agg": "sum", "field": "amt", "window": "24h"},
    {"name": "card_amt_max_24h", "key": "cc_num", "agg": "max", "field": "amt", "window": "24h"},
    {"name": "card_amt_avg_30d", "key": "cc_num", "agg": "avg", "field": "amt", "window": "30d"},
    {"name": "card_amt_std_30d", "key": "cc_num", "agg": "std", "field": "amt", "window": "30d"},
    {"name": "card_count_30d", "key": "cc_num", "agg": "count", "window": "30d"},
    {"name": "card_merchants_24h", "key": "cc_num", "agg": "distinct", "field": "merchant", "window": "24h"},
    {"name": "card_categories_24h", "key": "cc_num", "agg": "distinct", "field": "category", "window": "24h"},
    {"name": "merchant_count_1h", "key": "merchant", "agg": "count", "window": "1h", "granularity": "1m"},
    {"name": "merchant_disputes_30d", "key": "merchant", "agg": "count", "events": "status:disputed", "window": "30d"}
  ],
  "rules": [
    {"id": "NIGHT_BURST", "when": "(hour >= 22 || hour < 4) && card_count_24h >= 3 && amt > 2 * card_amt_avg_30d",
     "score": 350, "reason": "several large night-time purchases within a day"},
    {"id": "ONLINE_SPREE", "when": "in(category, [\"shopping_net\", \"misc_net\"]) && amt > 3 * card_amt_avg_30d && amt > 200",
     "score": 300, "reason": "large online purchase far above the card's usual spend"},
    {"id": "AMOUNT_SPIKE", "when": "card_amt_std_30d > 0 && (amt - card_amt_avg_30d) / card_amt_std_30d > 4 && amt > 300",
     "score": 250, "reason": "amount more than 4 deviations above the card's 30-day mean"},
    {"id": "DAY_SPEND_SPIKE", "when": "card_amt_sum_24h > 5 * card_amt_avg_30d * max(card_count_24h, 1) && card_amt_sum_24h > 1000",
     "score": 200, "reason": "24-hour spend far above the card's usual"},
    {"id": "IMPOSSIBLE_TRAVEL", "when": "kmh_from_prev > 900 && km_from_prev > 500",
     "score": 200, "reason": "travel between purchases faster than a plane"},
    {"id": "FLAGGED_CARD", "when": "flagged(cc_num)", "score": 1000, "reason": "card is on the flagged list"},
    {"id": "FLAGGED_MERCHANT", "when": "flagged(merchant)", "score": 400, "reason": "merchant is on the flagged list"}
  ],
  "model": {"kind": "logistic", "bias": -6.0, "scale": 600,
    "weights": {"amt": 0.004, "card_count_1h": 0.3}},
  "thresholds": {"review": 500, "decline": 800},
  "flags": [],
  "limits": {"idle_ttl": "90d", "memory_budget": 0, "status_index_size": 1048576}
}
)json";
}

}  // namespace vigil
