#include <catch2/catch.hpp>
#include <sstream>

#include "stream.h"
#include "vigil/engine.h"

using namespace vigil;
using vigil::test::Recorder;

namespace {

// Splits `input` at the first newline at or after `at`.
std::size_t cut_point(const std::string& input, std::size_t at) { return input.find('\n', at) + 1; }

}  // namespace

TEST_CASE("engine snapshot: restore then continue equals one uninterrupted run",
          "[engine][snapshot]") {
  const std::string input = vigil::test::generated_ndjson(50, 30, 17, true);
  auto whole = Engine::create_default();
  REQUIRE(whole.ok());
  Recorder all;
  all.attach(*whole);
  REQUIRE(whole->feed(input).ok());
  REQUIRE(whole->finish().ok());

  for (const double fraction : {0.1, 0.5, 0.9}) {
    const std::size_t cut =
        cut_point(input, static_cast<std::size_t>(static_cast<double>(input.size()) * fraction));
    auto first = Engine::create_default();
    REQUIRE(first.ok());
    Recorder before;
    before.attach(*first);
    REQUIRE(first->feed(std::string_view(input).substr(0, cut)).ok());
    REQUIRE(first->finish().ok());
    std::stringstream image;
    REQUIRE(first->snapshot(image).ok());

    // Same state, same bytes.
    std::stringstream again;
    REQUIRE(first->snapshot(again).ok());
    REQUIRE(image.str() == again.str());

    auto second = Engine::create_default();
    REQUIRE(second.ok());
    REQUIRE(second->restore(image).ok());
    Recorder after;
    after.attach(*second);
    REQUIRE(second->feed(std::string_view(input).substr(cut)).ok());
    REQUIRE(second->finish().ok());
    CHECK(before.decisions + after.decisions == all.decisions);
    CHECK(before.features + after.features == all.features);
    CHECK(second->counters().transactions == whole->counters().transactions);
    CHECK(second->rollups().to_json(second->dictionary()) ==
          whole->rollups().to_json(whole->dictionary()));
  }
}

TEST_CASE("engine snapshot: corrupted or truncated images are refused, the engine unchanged",
          "[engine][snapshot]") {
  const std::string input = vigil::test::generated_ndjson(20, 10, 23);
  const std::size_t cut = cut_point(input, input.size() / 2);
  auto source = Engine::create_default();
  REQUIRE(source.ok());
  REQUIRE(source->feed(std::string_view(input).substr(0, cut)).ok());
  REQUIRE(source->finish().ok());
  std::stringstream out;
  REQUIRE(source->snapshot(out).ok());
  const std::string image = out.str();

  // The target has its own state; after each refused restore it must still behave as before.
  auto reference = Engine::create_default();
  auto target = Engine::create_default();
  REQUIRE(reference.ok());
  REQUIRE(target.ok());
  const std::string warmup = vigil::test::generated_ndjson(5, 3, 99);
  for (Engine* e : {&*reference, &*target}) {
    REQUIRE(e->feed(warmup).ok());
    REQUIRE(e->finish().ok());
  }
  std::size_t refused = 0;
  for (std::size_t pos = 0; pos < image.size();
       pos += std::max<std::size_t>(1, image.size() / 97)) {
    std::string bad = image;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    std::istringstream in(bad);
    refused += target->restore(in).ok() ? 0 : 1;
    std::istringstream cut_in(image.substr(0, pos));
    refused += target->restore(cut_in).ok() ? 0 : 1;
  }
  CHECK(refused ==
        2 * ((image.size() + image.size() / 97 - 1) / std::max<std::size_t>(1, image.size() / 97)));
  Recorder r1, r2;
  r1.attach(*reference);
  r2.attach(*target);
  const std::string more = vigil::test::generated_ndjson(5, 2, 100);
  for (Engine* e : {&*reference, &*target}) {
    REQUIRE(e->feed(more).ok());
    REQUIRE(e->finish().ok());
  }
  CHECK(r1.decisions == r2.decisions);
  CHECK(r1.features == r2.features);
}

TEST_CASE("engine snapshot: an image from other feature declarations is refused",
          "[engine][snapshot]") {
  auto a = Engine::create_default();
  REQUIRE(a.ok());
  std::stringstream image;
  REQUIRE(a->snapshot(image).ok());
  auto b = Engine::create_from_json(
      R"({"features": [{"name": "c", "key": "cc_num", "agg": "count", "window": "1h"}]})");
  REQUIRE(b.ok());
  const Status s = b->restore(image);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("feature declarations"));
}

TEST_CASE("engine snapshot: restore into an engine that was already streaming",
          "[engine][snapshot]") {
  // The receiving engine has a live ingestor whose string cache holds ids of its old
  // dictionary; after restore every id must come from the restored one.
  const std::string input = vigil::test::generated_ndjson(30, 12, 41);
  const std::size_t cut = cut_point(input, input.size() / 2);
  auto a = Engine::create_default();
  REQUIRE(a.ok());
  REQUIRE(a->feed(std::string_view(input).substr(0, cut)).ok());
  REQUIRE(a->finish().ok());
  std::stringstream image;
  REQUIRE(a->snapshot(image).ok());
  Recorder a_after;
  a_after.attach(*a);
  REQUIRE(a->feed(std::string_view(input).substr(cut)).ok());
  REQUIRE(a->finish().ok());

  auto b = Engine::create_default();
  REQUIRE(b.ok());
  REQUIRE(b->feed(vigil::test::generated_ndjson(30, 12, 42)).ok());
  REQUIRE(b->finish().ok());
  REQUIRE(b->restore(image).ok());
  Recorder b_after;
  b_after.attach(*b);
  REQUIRE(b->feed(std::string_view(input).substr(cut)).ok());
  REQUIRE(b->finish().ok());
  CHECK(b_after.decisions == a_after.decisions);
  CHECK(b_after.features == a_after.features);
}
