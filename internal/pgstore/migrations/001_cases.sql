-- Investigation cases and their audit log (package casefile).
CREATE TABLE cases (
    id          bigserial PRIMARY KEY,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    status      text        NOT NULL CHECK (status IN ('open', 'closed')),
    created     timestamptz NOT NULL,
    created_by  text        NOT NULL,
    updated     timestamptz NOT NULL,
    -- sources, notes, labels and traces, as GET /v1/cases/{id} answers them
    body        jsonb       NOT NULL
);

CREATE TABLE case_audit (
    seq     bigserial   PRIMARY KEY,
    case_id bigint      NOT NULL REFERENCES cases (id),
    at      timestamptz NOT NULL,
    by      text        NOT NULL,
    action  text        NOT NULL,
    detail  text        NOT NULL
);
CREATE INDEX case_audit_case ON case_audit (case_id, seq);
