#!/usr/bin/env bash
# tests/preload/sqlite.sh LIB PROBE: the sqlite3 shell builds a 100,000-row database on disk with
# indexes, a join, window functions, JSON and a VACUUM, and must print the same bytes as without
# the preload. SQLite takes all its memory from malloc (page cache included, with cache_size
# raised), and asks malloc_usable_size for block sizes.
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/preload/common.sh
. "$here/common.sh"
# shellcheck disable=SC2034 # read by preload_main in common.sh
PRELOAD_EXPECT="sqlite3"

workload() {
  # Rows come from integer formulas, never random(), so every run builds the same database.
  sqlite3 -batch -bail test.db <<'SQL'
PRAGMA cache_size = -32000;
PRAGMA journal_mode = WAL;
CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city INTEGER, score REAL, bio TEXT);
CREATE TABLE city(id INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200)
INSERT INTO city SELECT x, printf('city-%03d-%s', x, substr('abcdefghijklmnopqrstuvwxyz', 1 + x % 26, 1 + x % 7)) FROM n;
BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000)
INSERT INTO person
SELECT x,
       printf('p%06d-%s', (x * 7919) % 100003, hex((x * 104729) % 65521)),
       1 + (x * 31) % 200,
       ((x * 2654435761) % 1000003) / 1000.0,
       substr(hex(x * 6364136223846793005), 1 + x % 5) || printf('%.*c', x % 120, 'z')
FROM n;
COMMIT;
CREATE INDEX person_name ON person(name);
CREATE INDEX person_city_score ON person(city, score);
SELECT count(*), sum(length(bio)), round(avg(score), 6) FROM person;
SELECT c.label, count(*), round(max(p.score), 3) FROM person p JOIN city c ON c.id = p.city
 GROUP BY c.label ORDER BY count(*) DESC, c.label LIMIT 12;
SELECT name, score FROM person WHERE name LIKE 'p0012%' ORDER BY name;
SELECT city, name, rank FROM (
  SELECT city, name, rank() OVER (PARTITION BY city ORDER BY score DESC, id) AS rank FROM person)
 WHERE rank <= 2 AND city % 40 = 0 ORDER BY city, rank;
SELECT json_group_array(json_object('id', id, 'name', name)) FROM person WHERE id % 9973 = 0;
UPDATE person SET bio = upper(bio) || name WHERE id % 3 = 0;
DELETE FROM person WHERE id % 5 = 0;
VACUUM;
SELECT count(*), sum(length(bio)), hex(max(bio)) FROM person;
SELECT group_concat(name, ',') FROM (SELECT name FROM person ORDER BY score, id LIMIT 40);
PRAGMA integrity_check;
SQL
  mkdir -p out
  sqlite3 -batch test.db .dump | md5sum >out/dump.md5
}

preload_main "$@"
