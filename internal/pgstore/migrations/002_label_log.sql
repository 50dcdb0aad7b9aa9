-- The shared log of label edits (package labelsync): every server applies
-- it, in seq order, to its own label store. Append-only; seq has no gaps
-- (appends hold an advisory lock and take max(seq) + 1).
CREATE TABLE label_log (
    seq  bigint      PRIMARY KEY CHECK (seq > 0),
    at   timestamptz NOT NULL,
    by   text        NOT NULL,
    kind text        NOT NULL,
    -- the edit as labelsync.Edit's JSON, without an import's bytes
    edit jsonb       NOT NULL,
    -- an import's file (not gzipped); NULL for the other kinds
    file bytea
);
