#!/usr/bin/env bash
# End-to-end checks of the vigil command line, as a user runs it.
#   usage: cli_test.sh PATH/TO/vigil WORKDIR
set -u
vigil=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
passes=0
failures=0
check() {  # check "description" command...
  local what=$1; shift
  if "$@"; then
    echo "ok   - $what"
    passes=$((passes + 1))
  else
    echo "FAIL - $what"
    failures=$((failures + 1))
  fi
}
exit_code() { "$@" >/dev/null 2>&1; echo $?; }

# Help and usage errors: --help exits 0; a bad option or value is one line on stderr, exit 2.
check "vigil --help lists the subcommands" bash -c "'$vigil' --help | grep -q generate && '$vigil' --help | grep -q replay && '$vigil' --help | grep -q train && '$vigil' --help | grep -q config"
check "vigil replay --help documents --emit" bash -c "'$vigil' replay --help | grep -q -- --emit"
check "bad value exits 2" test "$(exit_code "$vigil" generate --cards 0)" = 2
check "bad option exits 2" test "$(exit_code "$vigil" replay --frobnicate x)" = 2
check "bad --emit exits 2" test "$(exit_code "$vigil" replay --emit bogus -)" = 2
check "usage error is one line" test "$("$vigil" generate --days -3 2>&1 >/dev/null | wc -l)" = 1
check "missing input file exits 2" test "$(exit_code "$vigil" replay no-such-file.ndjson)" = 2

# A small stream with events, as NDJSON and as CSV.
"$vigil" generate --cards 40 --days 20 --seed 5 --format ndjson --with-events > events.ndjson 2>/dev/null
"$vigil" generate --cards 40 --days 20 --seed 5 --format ndjson > tx.ndjson 2>/dev/null
"$vigil" generate --cards 40 --days 20 --seed 5 --format csv > tx.csv 2>/dev/null
check "generate is deterministic" bash -c "'$vigil' generate --cards 40 --days 20 --seed 5 --format csv 2>/dev/null | cmp -s - tx.csv"

# Output is identical for any chunking, and the same from CSV as from NDJSON.
"$vigil" replay --quiet --out whole.out events.ndjson
"$vigil" replay --quiet --chunk-bytes 7 --out c7.out events.ndjson
"$vigil" replay --quiet --chunk-bytes 4096 --out c4096.out events.ndjson
"$vigil" replay --quiet --chunk-bytes 1 --out c1.out - < events.ndjson
check "decisions are produced" test "$(wc -l < whole.out)" -gt 1000
check "chunk 7 == whole" cmp -s whole.out c7.out
check "chunk 4096 == whole" cmp -s whole.out c4096.out
check "chunk 1 from stdin == whole" cmp -s whole.out c1.out
"$vigil" replay --quiet --out csv.out tx.csv
"$vigil" replay --quiet --out nd.out tx.ndjson
check "CSV and NDJSON give the same decisions" cmp -s csv.out nd.out
check "decision lines are JSON with the four members" bash -c "head -1 whole.out | grep -q '^{\"trans_num\":\"[0-9a-f]*\",\"score\":[0-9]*,\"decision\":\"[a-z]*\",\"reasons\":\['"

"$vigil" replay --quiet --emit features --out f.csv tx.csv
check "features CSV header" bash -c "head -1 f.csv | grep -q '^trans_num,amt,hour,weekday,age,city_pop,km_home_merchant,secs_since_prev,km_from_prev,kmh_from_prev,card_count_1h'"
check "one feature row per transaction" test "$(wc -l < f.csv)" = "$(wc -l < tx.csv)"
"$vigil" replay --quiet --emit alerts --out alerts.out tx.csv
check "alerts are review/decline only" bash -c "! grep -q '\"approve\"' alerts.out && test -s alerts.out"
"$vigil" replay --emit none --rollups r.json tx.csv 2> summary.txt
check "summary has detection metrics" grep -q "recall" summary.txt
check "rollups JSON written" grep -q '"segments"' r.json

# Bad records are dead-lettered and counted; the rest is scored.
{ head -5 tx.ndjson; echo '{"trans_num": "broken"'; echo 'not json at all'; sed -n '6,10p' tx.ndjson; } > bad.ndjson
"$vigil" replay --out bad.out bad.ndjson 2> bad.txt
check "good records around bad ones are kept" test "$(wc -l < bad.out)" = 10
check "summary counts the rejects" grep -q "2 rejected" bad.txt

# config --check: errors with FILE:LINE:COLUMN, exit 1; a valid file, a one-line summary.
"$vigil" config --print-default > default.json
check "default config checks ok" bash -c "'$vigil' config --check default.json | grep -q '^ok: '"
sed 's/card_amt_sum_24h > 1000 \&\& card_count_24h/card_amt_sum_24 > 1000 \&\& card_count_24h/' default.json > typo.json
check "a typo exits 1" test "$(exit_code "$vigil" config --check typo.json)" = 1
check "a typo names file, line, column, rule and suggestion" bash -c "'$vigil' config --check typo.json 2>&1 | grep -q \"typo.json:[0-9]*:[0-9]*: rule NIGHT_SPREE: .*did you mean 'card_amt_sum_24h'\""

# train writes a config that replay runs.
"$vigil" train --in tx.csv --out trained.json --holdout 0.3 2> train.txt
check "train writes a valid config" bash -c "'$vigil' config --check trained.json | grep -q '^ok: '"
check "train prints held-out metrics" grep -q "held-out rows" train.txt
check "replay runs the trained config" bash -c "'$vigil' replay --quiet --config trained.json --out t.out tx.csv && test -s t.out"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
