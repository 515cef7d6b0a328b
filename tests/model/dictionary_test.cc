#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "model/binary_io.h"
#include "vigil/dictionary.h"

using namespace vigil;

TEST_CASE("Dictionary interns densely with 0 = empty", "[model][dictionary]") {
  Dictionary d;
  CHECK(d.size() == 1);
  CHECK(d.intern("") == kNoStr);
  const StrId a = d.intern("grocery_pos");
  const StrId b = d.intern("misc_net");
  CHECK(a == 1);
  CHECK(b == 2);
  CHECK(d.intern("grocery_pos") == a);
  CHECK(d.find("misc_net") == b);
  CHECK_FALSE(d.find("travel"));
  CHECK(d.view(a) == "grocery_pos");
  // Views stay valid as the dictionary grows.
  const std::string_view va = d.view(a);
  for (int i = 0; i < 10000; ++i) d.intern(std::string("s").append(std::to_string(i)));
  CHECK(va == "grocery_pos");
}

TEST_CASE("Dictionary save/load is byte-stable and refuses corruption", "[model][dictionary]") {
  Dictionary d;
  for (int i = 0; i < 500; ++i) d.intern("merchant_" + std::to_string(i * 7919 % 1000));
  std::ostringstream out;
  REQUIRE(d.save(out).ok());
  const std::string image = out.str();

  Dictionary e;
  std::istringstream in(image);
  REQUIRE(e.load(in).ok());
  REQUIRE(e.size() == d.size());
  for (StrId i = 0; i < d.size(); ++i) REQUIRE(e.view(i) == d.view(i));
  std::ostringstream again;
  REQUIRE(e.save(again).ok());
  CHECK(again.str() == image);

  // Every truncation and every single-byte flip is refused, and the target stays as it was.
  Dictionary target;
  target.intern("keep");
  for (std::size_t cut = 0; cut < image.size(); cut += 13) {
    std::istringstream t(image.substr(0, cut));
    REQUIRE_FALSE(target.load(t).ok());
  }
  for (std::size_t pos = 0; pos < image.size(); pos += 7) {
    std::string bad = image;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x20);
    std::istringstream t(bad);
    REQUIRE_FALSE(target.load(t).ok());
  }
  CHECK(target.size() == 2);
  CHECK(target.view(1) == "keep");
}

TEST_CASE("BinaryReader never over-reads", "[model][snapshot]") {
  detail::BinaryWriter w;
  w.varint(300);
  w.svarint(-5);
  w.str("hello");
  w.f64(2.5);
  detail::BinaryReader r(w.data());
  CHECK(r.varint() == 300);
  CHECK(r.svarint() == -5);
  CHECK(r.str() == "hello");
  CHECK(r.f64() == 2.5);
  CHECK(r.ok());
  CHECK(r.at_end());
  CHECK(r.u64() == 0);
  CHECK_FALSE(r.ok());
  detail::BinaryReader big("\xff\xff\xff\xff\x0f");
  CHECK(big.count(1) == 0);
  CHECK_FALSE(big.ok());
}

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// The strings of the golden image, in intern order ("" and a repeat add nothing).
Dictionary golden_dictionary() {
  Dictionary d;
  d.intern("grocery_pos");
  d.intern("fraud_Kirlin and Sons");
  d.intern("");
  d.intern(std::string("a\0b\xff\n", 5));
  d.intern("misc_net");
  d.intern("grocery_pos");
  d.intern(std::string(300, 'x'));
  d.intern("Z\xc3\xa9rich");
  d.intern("x");
  return d;
}

}  // namespace

TEST_CASE("Dictionary image is byte-identical to the format's first implementation",
          "[model][dictionary]") {
  // Written by the deque + flat_hash_map dictionary (before the open-addressing table): frame
  // header, payload (count, then length-prefixed strings in id order), checksum.
  const std::string golden =
      from_hex("56444943010000006a01000000000000070b67726f636572795f706f73156672") +
      from_hex("6175645f4b69726c696e20616e6420536f6e7305610062ff0a086d6973635f6e") +
      from_hex("6574ac02") + std::string(300, 'x') + from_hex("075ac3a9726963680178c21cd37f");
  REQUIRE(golden.size() == 382);
  const Dictionary d = golden_dictionary();
  std::ostringstream out;
  REQUIRE(d.save(out).ok());
  CHECK(out.str() == golden);

  Dictionary e;
  std::istringstream in(golden);
  REQUIRE(e.load(in).ok());
  REQUIRE(e.size() == 8);
  CHECK(e.view(1) == "grocery_pos");
  CHECK(e.view(3) == std::string("a\0b\xff\n", 5));
  CHECK(e.view(5) == std::string(300, 'x'));
  CHECK(e.view(7) == "x");
  for (StrId i = 0; i < e.size(); ++i) CHECK(e.find(e.view(i)) == i);
}

TEST_CASE("Dictionary matches a std::map reference", "[model][dictionary]") {
  std::mt19937_64 rng(20261122);
  // Short (inline in a slot), around the inline limit, long, and binary strings from small
  // alphabets so that repeats, shared prefixes and equal lengths are common.
  const auto random_string = [&] {
    std::string s;
    const std::size_t len_class = rng() % 100;
    const std::size_t n = len_class < 50   ? rng() % 9
                          : len_class < 80 ? 16 + rng() % 17
                          : len_class < 99 ? 40 + rng() % 300
                                           : 10'000 + rng() % 30'000;  // own arena blocks
    const bool binary = rng() % 8 == 0;
    for (std::size_t i = 0; i < n; ++i) {
      s.push_back(binary ? static_cast<char>(rng()) : static_cast<char>('a' + rng() % 3));
    }
    return s;
  };
  Dictionary d;
  std::map<std::string, StrId> ref;
  std::vector<std::string> by_id = {""};
  std::vector<std::string_view> views = {d.view(0)};
  for (int step = 0; step < 60'000; ++step) {
    std::string s =
        rng() % 3 == 0 && by_id.size() > 1 ? by_id[rng() % by_id.size()] : random_string();
    if (rng() % 50 == 0) s.clear();
    if (rng() % 4 == 0) {
      const auto it = ref.find(s);
      const std::optional<StrId> found = d.find(s);
      if (s.empty()) {
        REQUIRE(found == kNoStr);
      } else if (it == ref.end()) {
        REQUIRE_FALSE(found);
      } else {
        REQUIRE(found == it->second);
      }
      continue;
    }
    const StrId id = rng() % 2 == 0 ? d.intern(s) : d.intern(s, Dictionary::hash(s));
    d.prefetch(Dictionary::hash(s));
    if (s.empty()) {
      REQUIRE(id == kNoStr);
      continue;
    }
    const auto [it, added] = ref.emplace(s, static_cast<StrId>(by_id.size()));
    REQUIRE(id == it->second);
    if (added) {
      by_id.push_back(s);
      views.push_back(d.view(id));
    }
    REQUIRE(d.size() == by_id.size());
  }
  REQUIRE(by_id.size() > 10'000);  // several rehashes
  // Every id still maps to its string, and views taken long ago still see it (no string moved).
  for (StrId i = 0; i < by_id.size(); ++i) {
    REQUIRE(d.view(i) == by_id[i]);
    REQUIRE(views[i] == by_id[i]);
    REQUIRE(d.find(by_id[i]) == i);
  }
  CHECK(d.memory_bytes() > 0);

  // The image lists the strings in id order, and loads back to the same ids.
  detail::BinaryWriter w;
  w.varint(by_id.size() - 1);
  for (std::size_t i = 1; i < by_id.size(); ++i) w.str(by_id[i]);
  std::ostringstream out;
  REQUIRE(d.save(out).ok());
  std::ostringstream expected;
  REQUIRE(detail::write_frame(expected, {'V', 'D', 'I', 'C'}, 1, w.data()).ok());
  CHECK(out.str() == expected.str());
  Dictionary e;
  e.intern("old contents");
  const std::uint64_t gen = e.generation();
  std::istringstream in(out.str());
  REQUIRE(e.load(in).ok());
  CHECK(e.generation() != gen);
  REQUIRE(e.size() == by_id.size());
  for (StrId i = 0; i < by_id.size(); ++i) REQUIRE(e.find(by_id[i]) == i);
  CHECK_FALSE(e.find("old contents"));
  // Interning after a load continues the ids.
  CHECK(e.intern("a brand new string, longer than a slot") == by_id.size());
}

TEST_CASE("Dictionary load refuses duplicates and leaves the dictionary unchanged",
          "[model][dictionary]") {
  const auto image = [](const std::vector<std::string>& strings) {
    detail::BinaryWriter w;
    w.varint(strings.size());
    for (const std::string& s : strings) w.str(s);
    std::ostringstream out;
    REQUIRE(detail::write_frame(out, {'V', 'D', 'I', 'C'}, 1, w.data()).ok());
    return out.str();
  };
  Dictionary d;
  d.intern("keep");
  d.intern(std::string(100, 'k'));
  const std::uint64_t gen = d.generation();
  const std::string long_one(100, 'z');
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"a", "b", "a"}, {"a", ""}, {long_one, "b", long_one}, {""}}) {
    std::istringstream in(image(bad));
    const Status s = d.load(in);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == ErrorCode::kCorrupt);
  }
  CHECK(d.generation() == gen);
  CHECK(d.size() == 3);
  CHECK(d.view(1) == "keep");
  CHECK(d.find(std::string(100, 'k')) == 2);
  CHECK(d.intern("next") == 3);
  // A good image of the same shape loads.
  std::istringstream good(image({"a", "b", long_one}));
  REQUIRE(d.load(good).ok());
  CHECK(d.size() == 4);
  CHECK(d.find(long_one) == 3);
  CHECK_FALSE(d.find("keep"));
}

TEST_CASE("Dictionary hash depends on every byte and reads none past the end",
          "[model][dictionary]") {
  // Strings that differ in one byte anywhere hash differently (for these samples), and a
  // string at the very end of an allocation is hashed without over-read (ASan build).
  for (std::size_t n = 0; n <= 80; ++n) {
    auto buf = std::make_unique<char[]>(n + 1);
    for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<char>('a' + i % 26);
    const std::string_view s(buf.get(), n);
    const std::uint64_t h = Dictionary::hash(s);
    for (std::size_t i = 0; i < n; ++i) {
      buf[i] ^= 1;
      CHECK(Dictionary::hash(s) != h);
      buf[i] ^= 1;
    }
    CHECK(Dictionary::hash(std::string(s)) == h);
  }
}
