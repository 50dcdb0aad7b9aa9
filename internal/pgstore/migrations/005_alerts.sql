-- Alerts, their events, webhook endpoints and the delivery outbox
-- (package alert; pgstore/alerts.go). Citus: every table is keyed by its
-- own id and small enough to be a reference table.
CREATE TABLE alert_endpoints (
    id       serial      PRIMARY KEY,
    url      text        NOT NULL,
    secret   text        NOT NULL,
    disabled text        NOT NULL DEFAULT '',
    created  timestamptz NOT NULL
);

CREATE TABLE alerts (
    id          bigserial   PRIMARY KEY,
    block_hash  bytea       NOT NULL,
    rule        text        NOT NULL,
    txid        bytea       NOT NULL,
    address     text        NOT NULL,
    level       smallint    NOT NULL CHECK (level BETWEEN 1 AND 4),
    value       bigint      NOT NULL,
    height      bigint      NOT NULL,
    -- category, share_ppm, value_sat, explanation (alert.Exposure)
    exposure    jsonb       NOT NULL,
    status      smallint    NOT NULL CHECK (status BETWEEN 1 AND 4),
    invalidated boolean     NOT NULL DEFAULT false,
    -- time, status, text, by of each review note
    notes       jsonb       NOT NULL DEFAULT '[]',
    created     timestamptz NOT NULL,
    updated     timestamptz NOT NULL,
    -- The natural key: servers that match the same block store its
    -- alerts once (INSERT … ON CONFLICT DO NOTHING).
    UNIQUE (block_hash, rule, txid, address)
);

-- Event sequence numbers are assigned and committed in order: every
-- transaction that writes events holds an advisory lock until it commits
-- (pgstore/alerts.go), so a reader that saw seq n never later sees a
-- smaller one appear (the SSE stream resumes after Last-Event-ID).
CREATE TABLE alert_events (
    seq      bigserial   PRIMARY KEY,
    type     text        NOT NULL,
    alert_id bigint      NOT NULL REFERENCES alerts (id),
    at       timestamptz NOT NULL,
    -- the exact JSON signed and sent (bytea, not jsonb, keeps its bytes)
    body     bytea       NOT NULL
);

-- The outbox: one row per event per endpoint enabled when the event was
-- written. A worker claims due rows (FOR UPDATE SKIP LOCKED) by setting
-- claimed_by and lease_until; Record clears them. A claim whose lease
-- ended (its server died) is due again.
CREATE TABLE alert_deliveries (
    event_seq   bigint      NOT NULL REFERENCES alert_events (seq),
    endpoint_id integer     NOT NULL,
    state       smallint    NOT NULL CHECK (state BETWEEN 1 AND 4),
    next_at     timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    -- the newest attempts: time, status, error
    log         jsonb       NOT NULL DEFAULT '[]',
    claimed_by  text,
    lease_until timestamptz,
    PRIMARY KEY (event_seq, endpoint_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_at) WHERE state = 1;
