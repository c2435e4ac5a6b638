CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, printf('name-%d-%s', x, hex(randomblob(x % 40))), x * 0.5 FROM c;
CREATE INDEX tn ON t(name);
SELECT count(*), sum(length(name)) FROM t WHERE name LIKE 'name-1%';
SELECT v, name FROM t ORDER BY name DESC LIMIT 3;
DELETE FROM t WHERE id % 3 = 0;
VACUUM;
SELECT count(*) FROM t;
