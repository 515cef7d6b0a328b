// A tiny host program that uses vigil as an outsider would: public headers and vigil::vigil only.
#include <cstdio>
#include <sstream>

#include "vigil/engine.h"

int main() {
  auto engine = vigil::Engine::create_default();
  if (!engine.ok()) {
    std::fprintf(stderr, "consumer: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  vigil::Transaction tx;
  tx.time = *vigil::parse_timestamp("2019-01-01 00:00:18");
  tx.cc_num = 2703186189652095ULL;
  tx.amt_cents = 497;
  tx.category = engine->dictionary().intern("misc_net");
  tx.trans_num = *vigil::TransId::from("0b242abb623afc578575680df30655b9");
  const vigil::Decision d = engine->score(tx);
  std::ostringstream image;
  const bool good = d.score >= 0 && d.score <= 1000 && engine->snapshot(image).ok() &&
                    engine->counters().transactions == 1;
  std::printf("consumer: score %d (%s), %s\n", d.score,
              std::string(vigil::action_name(d.action)).c_str(), good ? "ok" : "FAILED");
  return good ? 0 : 1;
}
