-- API keys (package apikey): never a secret, only its SHA-256 (apikey K1).
-- Ids come from the sequence and are never reused (K2).
CREATE TABLE api_keys (
    id      int         PRIMARY KEY CHECK (id > 0),
    name    text        NOT NULL,
    scope   smallint    NOT NULL CHECK (scope BETWEEN 1 AND 3),
    created timestamptz NOT NULL,
    revoked boolean     NOT NULL DEFAULT false,
    hash    bytea       NOT NULL CHECK (length(hash) = 32)
);
CREATE SEQUENCE api_keys_id AS int MINVALUE 1;

-- One row: bumped in the transaction of every change, so that each
-- server's key set reloads only when the keys changed.
CREATE TABLE api_keys_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    v   bigint  NOT NULL
);
INSERT INTO api_keys_version VALUES (true, 0);
