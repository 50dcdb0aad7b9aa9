-- What the last export of entities, labels and exposure was computed
-- from, so that the next run writes only what changed (derived.go).

ALTER TABLE export_state
    ADD COLUMN cluster_next_tx bigint NOT NULL DEFAULT -1, -- the merge log was read below this tx (-1: unknown, rewrite entities whole)
    ADD COLUMN sources_sum     bigint NOT NULL DEFAULT 0,  -- checksum of the label_sources rows
    ADD COLUMN labels_sum      bigint NOT NULL DEFAULT 0,  -- checksum of export_digests' labels rows
    ADD COLUMN exposure_sum    bigint NOT NULL DEFAULT 0,  -- and of its exposure rows
    ADD COLUMN digests         boolean NOT NULL DEFAULT false; -- export_digests describes labels and exposure

CREATE TABLE export_merge_sums (
    next_tx bigint PRIMARY KEY, -- a block boundary of the clustered chain
    merges  bigint NOT NULL,    -- merges logged for the transactions below it
    sum     bigint NOT NULL     -- and an order-independent checksum of them
);
COMMENT ON TABLE export_merge_sums IS 'Citus: reference table. The merge log below the last export''s clustering position and the boundaries of its last blocks: a reorg within them is exported incrementally.';

CREATE TABLE export_digests (
    tbl        smallint NOT NULL, -- 1 labels, 2 exposure
    address_id bigint   NOT NULL,
    digest     bigint   NOT NULL, -- of the address's rows in that table
    PRIMARY KEY (tbl, address_id)
);
COMMENT ON TABLE export_digests IS 'Citus: distributed by address_id. A checksum of each address''s labels and exposure rows as last exported.';
