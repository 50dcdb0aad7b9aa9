-- Watchlists (package watch): a list's record is watch.List's binary form
-- (name, rules, entities); its name is a column too, for uniqueness.
-- Ids come from the sequence and are never reused. version is bumped with
-- every change of the list or its addresses, so a server's copy reloads
-- only the lists that changed.
CREATE TABLE watch_lists (
    id      int    PRIMARY KEY CHECK (id > 0),
    name    text   NOT NULL UNIQUE,
    record  bytea  NOT NULL,
    version bigint NOT NULL DEFAULT 0
);
CREATE SEQUENCE watch_lists_id AS int MINVALUE 1;

-- One row per watched (list, address key): address.Key's bytes.
CREATE TABLE watch_addresses (
    list int   NOT NULL REFERENCES watch_lists (id) ON DELETE CASCADE,
    addr bytea NOT NULL CHECK (length(addr) BETWEEN 1 AND 42),
    PRIMARY KEY (list, addr)
);

-- One row: bumped in the transaction of every change, so that each
-- server's in-memory copy (watch.Snapshot) reloads only then.
CREATE TABLE watch_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    v   bigint  NOT NULL
);
INSERT INTO watch_version VALUES (true, 0);
