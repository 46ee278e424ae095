-- Schema and data for tests/db (loaded by pg_scratch.sh, then VACUUM ANALYZE): tables large
-- enough that the planner prefers an index where an expert would create one.
CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, age int NOT NULL, city text NOT NULL,
                    created_at timestamp NOT NULL, bio text);
INSERT INTO users
SELECT g, 'user' || g || '@example.com', 18 + g % 70, 'city' || (g * 7919) % 5000,
       timestamp '2020-01-01' + g * interval '1 minute', repeat('x', 60)
FROM generate_series(1, 100000) g;
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL, amount numeric NOT NULL,
                     status text NOT NULL, placed_at timestamp NOT NULL);
INSERT INTO orders
SELECT g, 1 + (g::bigint * 7919) % 100000, g % 1000, CASE WHEN g % 100 = 0 THEN 'open' ELSE 'done' END,
       timestamp '2020-01-01' + (g::bigint * 104729 % 200000) * interval '1 minute'
FROM generate_series(1, 200000) g;
-- Existing indexes: one the advice must respect, one duplicate, one unused.
CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, region text NOT NULL);
INSERT INTO accounts SELECT g, 'acct' || g, 'r' || g % 50 FROM generate_series(1, 50000) g;
CREATE INDEX accounts_name ON accounts (name);
CREATE INDEX accounts_name_region ON accounts (name, region);
