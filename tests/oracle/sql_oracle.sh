#!/usr/bin/env bash
# An independent oracle for the feature store: SQLite computes every built-in and every window
# feature of oracle-config.json straight from the definitions in DESIGN.md / vigil/features.h
# (one correlated subquery per feature and row, nothing shared with vigil's code), and the
# result must equal `vigil replay --emit features` row for row.
#
#   usage: sql_oracle.sh PATH/TO/vigil WORKDIR [INPUT.csv]
# INPUT.csv (Kaggle / Sparkov layout, e.g. the real fraudTrain.csv) replaces the generated stream.
#
# Three streams: the generated CSV in time order; NDJSON of the same world with dispute and
# flag events interleaved (the `events: status:disputed` features count a dispute at its own
# time on the disputed transaction's card / merchant); and the CSV rows re-ordered so that many
# cards and keys see events arrive up to 10 minutes late (inside the config's 10 minute
# lateness bound, where windows must stay exact). Definitions, for a row r at arrival
# position seq with event time t:
#   window W of key k  = rows s with s.k = r.k, s.seq <= r.seq, t - W < s.t <= t
#   bucketed window W, granularity g: buckets [b*g, (b+1)*g); the window of r is the buckets
#     from the one holding t - W + g to the one holding t, as they stand when r arrives: in
#     time order exactly t - W + g - (t mod g) <= s.t <= t; a late r also sees its own
#     bucket's newer rows, and loses a bucket b whose ring slot a row of bucket b + W/g took
#     (at most the lateness bound's worth of the oldest history)
#   disputes of key k   = status events e (disputed) of transactions with key k, e.seq < r.seq,
#                          t - W < e.t <= t
#   previous (built-ins) = the card's row with the greatest (t, seq) among s.seq < r.seq,
#                          s.t <= r.t
# Counts must match exactly, everything else within 1e-9 relative (abs 1e-9 near zero).
set -euo pipefail
vigil=$1
work=$2
input=$(realpath "${3:-/dev/null}")
config=$(cd "$(dirname "$0")" && pwd)/oracle-config.json
rm -rf "$work" && mkdir -p "$work" && cd "$work"
command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed (.ci/install-deps adds it)"; exit 1; }

if [ -n "${3:-}" ]; then
  cp "$input" in.csv
else
  "$vigil" generate --cards 250 --days 40 --seed 11 --format csv --out in.csv 2>/dev/null
fi

columns='idx INTEGER, ts TEXT, cc_num TEXT, merchant TEXT, category TEXT, amt TEXT, first TEXT,
  last TEXT, gender TEXT, street TEXT, city TEXT, state TEXT, zip TEXT, lat REAL, long REAL,
  city_pop INTEGER, job TEXT, dob TEXT, trans_num TEXT, unix_time INTEGER, merch_lat REAL,
  merch_long REAL, is_fraud INTEGER'

# The late stream: each row arrives at time + a pseudo-random 0..599 s delay (lateness is 10 minutes).
head -n 1 in.csv > late.csv
sqlite3 -batch scratch.db <<SQL >> late.csv
CREATE TABLE raw ($columns);
.import --csv --skip 1 in.csv raw
.mode csv
SELECT * FROM raw ORDER BY CAST(strftime('%s', ts) AS INTEGER) + (idx * 2654435761) % 600, idx;
SQL

# The rows of a stream as table tx (seq = position in the stream), and its dispute events as
# table ev (seq, t, and the card and merchant of the transaction they dispute).
load_csv() {  # load_csv INPUT.csv
  cat <<SQL
CREATE TABLE raw ($columns);
.import --csv --skip 1 $1 raw
CREATE TABLE tx AS SELECT rowid AS seq, CAST(strftime('%s', ts) AS INTEGER) AS t,
  cc_num AS cc, merchant, category, CAST(round(CAST(amt AS REAL) * 100) AS INTEGER) AS cents,
  state, zip, lat, long, city_pop, dob, trans_num, merch_lat AS mlat, merch_long AS mlong
  FROM raw ORDER BY rowid;
CREATE TABLE ev (seq INTEGER, t INTEGER, cc, merchant);
SQL
}
load_ndjson() {  # load_ndjson INPUT.ndjson: transactions and {"type":"status",...} lines
  sed '1s/^/[/; $!s/$/,/; $s/$/]/' "$1" > "$1.array.json"
  cat <<SQL
CREATE TABLE lines AS SELECT key AS seq, value AS j FROM json_each(readfile('$1.array.json'));
CREATE TABLE tx AS SELECT seq, CAST(strftime('%s', j ->> '\$.trans_date_trans_time') AS INTEGER) AS t,
  j ->> '\$.cc_num' AS cc, j ->> '\$.merchant' AS merchant, j ->> '\$.category' AS category,
  CAST(round((j ->> '\$.amt') * 100) AS INTEGER) AS cents, j ->> '\$.state' AS state,
  j ->> '\$.zip' AS zip, j ->> '\$.lat' AS lat, j ->> '\$.long' AS long,
  j ->> '\$.city_pop' AS city_pop, j ->> '\$.dob' AS dob, j ->> '\$.trans_num' AS trans_num,
  j ->> '\$.merch_lat' AS mlat, j ->> '\$.merch_long' AS mlong
  FROM lines WHERE j ->> '\$.type' IS NULL ORDER BY seq;
CREATE INDEX tx_trans_num ON tx(trans_num);
CREATE TABLE ev AS SELECT e.seq AS seq, CAST(strftime('%s', e.j ->> '\$.time') AS INTEGER) AS t,
  o.cc AS cc, o.merchant AS merchant
  FROM lines e JOIN tx o ON o.trans_num = e.j ->> '\$.trans_num' AND o.seq < e.seq
  WHERE e.j ->> '\$.type' = 'status' AND e.j ->> '\$.status' = 'disputed';
SQL
}

oracle() {  # oracle LOADER INPUT OUT.csv: the features of INPUT, computed by SQLite
  { "$1" "$2"; cat <<SQL
CREATE INDEX tx_cc ON tx(cc, t);
CREATE INDEX tx_merchant ON tx(merchant, t);
CREATE INDEX tx_category ON tx(category, t);
CREATE INDEX tx_state ON tx(state, t);
CREATE INDEX tx_zip ON tx(zip, t);
-- Great-circle km, mean Earth radius 6371.0088 km.
CREATE TEMP VIEW prev AS SELECT r.seq AS seq,
  (SELECT s.seq FROM tx s WHERE s.cc = r.cc AND s.seq < r.seq AND s.t <= r.t
   ORDER BY s.t DESC, s.seq DESC LIMIT 1) AS p
  FROM tx r;
.headers on
.mode csv
.once $3
SELECT r.trans_num,
  r.cents / 100.0 AS amt,
  CAST(strftime('%H', r.t, 'unixepoch') AS INTEGER) AS hour,
  (CAST(strftime('%w', r.t, 'unixepoch') AS INTEGER) + 6) % 7 AS weekday,
  CAST(strftime('%Y', r.t, 'unixepoch') AS INTEGER) - CAST(strftime('%Y', r.dob) AS INTEGER)
    - (strftime('%m-%d', r.t, 'unixepoch') < strftime('%m-%d', r.dob)) AS age,
  NULLIF(r.city_pop, 0) AS city_pop,
  2 * 6371.0088 * asin(sqrt(pow(sin(radians(r.mlat - r.lat) / 2), 2) +
    cos(radians(r.lat)) * cos(radians(r.mlat)) * pow(sin(radians(r.mlong - r.long) / 2), 2)))
    AS km_home_merchant,
  r.t - p.t AS secs_since_prev,
  2 * 6371.0088 * asin(sqrt(pow(sin(radians(r.mlat - p.mlat) / 2), 2) +
    cos(radians(p.mlat)) * cos(radians(r.mlat)) * pow(sin(radians(r.mlong - p.mlong) / 2), 2)))
    AS km_from_prev,
  2 * 6371.0088 * asin(sqrt(pow(sin(radians(r.mlat - p.mlat) / 2), 2) +
    cos(radians(p.mlat)) * cos(radians(r.mlat)) * pow(sin(radians(r.mlong - p.mlong) / 2), 2)))
    / (max(r.t - p.t, 1) / 3600.0) AS kmh_from_prev,
  (SELECT count(*) FROM tx s WHERE s.cc = r.cc AND s.seq <= r.seq AND s.t > r.t - 3600 AND s.t <= r.t)
    AS card_count_1h,
  (SELECT sum(cents) / 100.0 FROM tx s WHERE s.cc = r.cc AND s.seq <= r.seq AND s.t > r.t - 86400 AND s.t <= r.t)
    AS card_sum_24h,
  (SELECT avg(cents) / 100.0 FROM tx s WHERE s.cc = r.cc AND s.seq <= r.seq AND s.t > r.t - 7 * 86400 AND s.t <= r.t)
    AS card_avg_7d,
  (SELECT sqrt(CAST(count(*) * sum(cents * cents) - sum(cents) * sum(cents) AS REAL)) / count(*) / 100.0
   FROM tx s WHERE s.cc = r.cc AND s.seq <= r.seq AND s.t > r.t - 30 * 86400 AND s.t <= r.t)
    AS card_std_30d,
  (SELECT min(cents) / 100.0 FROM tx s WHERE s.cc = r.cc AND s.seq <= r.seq AND s.t > r.t - 86400 AND s.t <= r.t)
    AS card_min_24h,
  (SELECT max(cents) / 100.0 FROM tx s WHERE s.cc = r.cc AND s.seq <= r.seq AND s.t > r.t - 7 * 86400 AND s.t <= r.t)
    AS card_max_7d,
  (SELECT count(DISTINCT merchant) FROM tx s WHERE s.cc = r.cc AND s.seq <= r.seq AND s.t > r.t - 7 * 86400 AND s.t <= r.t)
    AS card_merchants_7d,
  (SELECT count(DISTINCT category) FROM tx s WHERE s.cc = r.cc AND s.seq <= r.seq AND s.t > r.t - 86400 AND s.t <= r.t)
    AS card_categories_24h,
  (SELECT count(*) FROM tx s WHERE s.merchant = r.merchant AND s.seq <= r.seq AND s.t > r.t - 3600 AND s.t <= r.t)
    AS merchant_count_1h,
  (SELECT avg(cents) / 100.0 FROM tx s WHERE s.merchant = r.merchant AND s.seq <= r.seq AND s.t > r.t - 86400 AND s.t <= r.t)
    AS merchant_avg_24h,
  (SELECT count(*) FROM tx s WHERE s.category = r.category AND s.seq <= r.seq AND s.t > r.t - 900 AND s.t <= r.t)
    AS category_count_15m,
  (SELECT sum(cents) / 100.0 FROM tx s WHERE s.state = r.state AND s.seq <= r.seq AND s.t > r.t - 3600 AND s.t <= r.t)
    AS state_sum_1h,
  (SELECT count(*) FROM tx s WHERE s.zip = r.zip AND s.seq <= r.seq AND s.t > r.t - 86400 AND s.t <= r.t)
    AS zip_count_24h,
  (SELECT count(*) FROM tx s WHERE s.merchant = r.merchant AND s.seq <= r.seq
     AND s.t >= r.t - 3600 + 60 - r.t % 60 AND s.t < r.t - r.t % 60 + 60
     AND NOT EXISTS (SELECT 1 FROM tx q WHERE q.merchant = r.merchant AND q.seq < r.seq
       AND q.t >= s.t - s.t % 60 + 3600 AND q.t < s.t - s.t % 60 + 3600 + 60))
    AS merchant_count_1h_g,
  (SELECT sum(cents) / 100.0 FROM tx s WHERE s.category = r.category AND s.seq <= r.seq
     AND s.t >= r.t - 86400 + 3600 - r.t % 3600 AND s.t < r.t - r.t % 3600 + 3600
     AND NOT EXISTS (SELECT 1 FROM tx q WHERE q.category = r.category AND q.seq < r.seq
       AND q.t >= s.t - s.t % 3600 + 86400 AND q.t < s.t - s.t % 3600 + 86400 + 3600))
    AS category_sum_24h_g,
  (SELECT count(*) FROM ev e WHERE e.merchant = r.merchant AND e.seq < r.seq
     AND e.t > r.t - 30 * 86400 AND e.t <= r.t) AS merchant_disputes_30d,
  (SELECT count(*) FROM ev e WHERE e.cc = r.cc AND e.seq < r.seq
     AND e.t > r.t - 90 * 86400 AND e.t <= r.t) AS card_disputes_90d
FROM tx r JOIN prev USING (seq) LEFT JOIN tx p ON p.seq = prev.p
ORDER BY r.seq;
SQL
  } | sqlite3 -batch "$2.db"
}

compare() {  # compare VIGIL.csv ORACLE.csv LABEL: row by row, column by column
  sqlite3 -batch compare.db <<SQL
DROP TABLE IF EXISTS v;
DROP TABLE IF EXISTS o;
.import --csv $1 v
.import --csv $2 o
SELECT 'rows: vigil ' || (SELECT count(*) FROM v) || ', oracle ' || (SELECT count(*) FROM o);
SQL
  local names
  names=$(head -n 1 "$2" | tr -d '\r' | tr ',' ' ')
  [ "$(head -n 1 "$1" | tr -d '\r')" = "$(head -n 1 "$2" | tr -d '\r')" ] ||
    { echo "FAIL $3: headers differ"; head -n 1 "$1" "$2"; return 1; }
  local bad=0
  for c in $names; do
    [ "$c" = trans_num ] && continue
    local n
    n=$(sqlite3 -batch compare.db "
      SELECT count(*) FROM v JOIN o ON v.rowid = o.rowid
      WHERE v.trans_num <> o.trans_num
         OR (NULLIF(v.$c, '') IS NULL) <> (NULLIF(o.$c, '') IS NULL)
         OR abs(CAST(v.$c AS REAL) - CAST(o.$c AS REAL)) >
            1e-9 * max(1.0, abs(CAST(o.$c AS REAL)));")
    if [ "$n" != 0 ]; then
      echo "FAIL $3: $c differs on $n rows, e.g. (trans_num, vigil, oracle):"
      sqlite3 -batch compare.db "
        SELECT v.trans_num, v.$c, o.$c FROM v JOIN o ON v.rowid = o.rowid
        WHERE v.trans_num <> o.trans_num
           OR (NULLIF(v.$c, '') IS NULL) <> (NULLIF(o.$c, '') IS NULL)
           OR abs(CAST(v.$c AS REAL) - CAST(o.$c AS REAL)) >
              1e-9 * max(1.0, abs(CAST(o.$c AS REAL))) LIMIT 5;"
      bad=1
    fi
  done
  local rows_v rows_o
  rows_v=$(($(wc -l < "$1") - 1))
  rows_o=$(($(wc -l < "$2") - 1))
  [ "$rows_v" = "$rows_o" ] || { echo "FAIL $3: $rows_v rows from vigil, $rows_o from SQLite"; bad=1; }
  [ $bad = 0 ] && echo "ok   - $3: $rows_o rows, $(($(echo "$names" | wc -w) - 1)) features agree"
  return $bad
}

status=0
for stream in in late; do
  "$vigil" replay --quiet --config "$config" --format csv --emit features --out "$stream.vigil.csv" "$stream.csv"
  oracle load_csv "$stream.csv" "$stream.oracle.csv"
  compare "$stream.vigil.csv" "$stream.oracle.csv" "$stream-order stream" || status=1
done
if [ -z "${3:-}" ]; then
  # NDJSON with dispute (status) and flag events interleaved: the events features too.
  "$vigil" generate --cards 250 --days 40 --seed 11 --format ndjson --with-events --out events.ndjson 2>/dev/null
  "$vigil" replay --quiet --config "$config" --format ndjson --emit features --out events.vigil.csv events.ndjson
  oracle load_ndjson events.ndjson events.oracle.csv
  compare events.vigil.csv events.oracle.csv "NDJSON stream with events" || status=1
  disputed=$(sqlite3 -batch events.ndjson.db "SELECT count(*) FROM tx r WHERE EXISTS
    (SELECT 1 FROM ev e WHERE e.merchant = r.merchant AND e.seq < r.seq AND e.t > r.t - 30 * 86400);")
  echo "transactions whose merchant had a dispute in the 30 days before: $disputed"
  [ "$disputed" -ge 100 ] || { echo "FAIL: too few disputes to test the events features"; status=1; }
fi
# The re-ordered stream really has late arrivals (else the second pass proves nothing): rows
# that arrive after a newer row of the same card, and of the same category.
late_after() {
  sqlite3 -batch late.csv.db "SELECT count(*) FROM tx r WHERE EXISTS
    (SELECT 1 FROM tx s WHERE s.$1 = r.$1 AND s.seq < r.seq AND s.t > r.t);"
}
late_cards=$(late_after cc)
late_categories=$(late_after category)
echo "late arrivals in the re-ordered stream: $late_cards behind a newer event of their card," \
  "$late_categories behind a newer event of their category"
[ -n "${3:-}" ] || { [ "$late_cards" -ge 20 ] && [ "$late_categories" -ge 1000 ]; } ||
  { echo "FAIL: the re-ordered stream has too few late arrivals"; status=1; }
exit $status
