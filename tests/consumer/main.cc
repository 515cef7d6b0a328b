// A tiny host program that uses vigil as an outsider would: only public headers.
#include <cstdio>
#include <sstream>

#include "vigil/model.h"
#include "vigil/time.h"

int main() {
  vigil::Dictionary dict;
  vigil::TransactionBatch batch;
  vigil::Transaction tx;
  tx.time = *vigil::parse_timestamp("2019-01-01 00:00:18");
  tx.cc_num = 2703186189652095ULL;
  tx.amt_cents = 497;
  tx.category = dict.intern("misc_net");
  if (!batch.push_back(tx)) return 1;
  std::ostringstream image;
  if (!dict.save(image).ok()) return 1;
  const bool good = batch.size() == 1 && batch.cc_num[0] == 2703186189652095ULL &&
                    dict.view(batch.category[0]) == "misc_net";
  std::printf("consumer: %s\n", good ? "ok" : "FAILED");
  return good ? 0 : 1;
}
