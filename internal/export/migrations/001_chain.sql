-- The chain-derived tables of sleuth export (package export). Every
-- table lives in the export's own schema (search_path, default "chain").
-- Keys are sleuth's dense ids: tx (transaction number in chain order),
-- address_id (first-seen order), entity_id (an entity's smallest address
-- id). Each table's comment names its Citus distribution (docs/SQL.md).
-- The secondary indexes of the chain tables are the export's to build
-- (internal/export/indexes.go): a full export loads first and indexes
-- after.

CREATE TABLE export_state (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    network        text        NOT NULL,
    height         bigint      NOT NULL, -- blocks, transactions, outputs, inputs, addresses: complete through this height
    tip_hash       text        NOT NULL,
    next_tx        bigint      NOT NULL, -- transactions below this are exported
    next_addr      bigint      NOT NULL, -- addresses below this are exported
    derived_height bigint      NOT NULL, -- entities, labels, exposure: as of this height (-1: never)
    updated        timestamptz NOT NULL
);
COMMENT ON TABLE export_state IS 'Citus: reference table. One row: how far the export has come.';

CREATE TABLE script_types (
    type smallint PRIMARY KEY,
    name text     NOT NULL
);
COMMENT ON TABLE script_types IS 'Citus: reference table. The names of outputs.type and addresses.type.';
INSERT INTO script_types VALUES
    (0, 'nonstandard'), (1, 'p2pk'), (2, 'p2pkh'), (3, 'p2sh'), (4, 'p2wpkh'), (5, 'p2wsh'),
    (6, 'p2tr'), (7, 'multisig'), (8, 'op_return'), (9, 'witness_unknown'), (10, 'p2a');

CREATE TABLE blocks (
    height     integer     PRIMARY KEY,
    hash       text        NOT NULL,
    time       timestamptz NOT NULL,
    first_tx   bigint      NOT NULL,
    n_tx       integer     NOT NULL,
    first_addr bigint      NOT NULL -- the first address id this block's transactions gave out
);
COMMENT ON TABLE blocks IS 'Citus: reference table (one row per best-chain block).';

CREATE TABLE transactions (
    tx       bigint  PRIMARY KEY,
    txid     text    NOT NULL,
    height   integer NOT NULL,
    version  bigint  NOT NULL,
    locktime bigint  NOT NULL,
    n_in     integer NOT NULL,
    n_out    integer NOT NULL,
    coinbase boolean NOT NULL,
    fee      bigint -- null for a coinbase
);
COMMENT ON TABLE transactions IS 'Citus: distributed by tx.';

CREATE TABLE outputs (
    tx         bigint   NOT NULL,
    n          integer  NOT NULL,
    value      bigint   NOT NULL,
    type       smallint NOT NULL,
    address_id bigint, -- null for OP_RETURN and other address-less scripts
    spent_tx   bigint,  -- the spending transaction and its input index; null while unspent
    spent_vin  integer,
    PRIMARY KEY (tx, n)
);
COMMENT ON TABLE outputs IS 'Citus: distributed by tx (colocated with transactions).';

CREATE TABLE inputs (
    tx         bigint  NOT NULL,
    vin        integer NOT NULL,
    prev_tx    bigint, -- the spent output; null for a coinbase
    prev_vout  integer,
    value      bigint,
    address_id bigint,
    PRIMARY KEY (tx, vin)
);
COMMENT ON TABLE inputs IS 'Citus: distributed by tx, the spending transaction (colocated with transactions).';

CREATE TABLE addresses (
    address_id   bigint   PRIMARY KEY,
    address      text, -- null when the script has no standard encoding (bare multisig)
    type         smallint NOT NULL,
    first_height integer  NOT NULL
);
COMMENT ON TABLE addresses IS 'Citus: distributed by address_id.';

CREATE TABLE entities (
    entity_id bigint PRIMARY KEY,
    size      bigint NOT NULL
);
COMMENT ON TABLE entities IS 'Citus: distributed by entity_id. Multi-address entities only; an address without a row in entity_members is an entity of its own.';

CREATE TABLE entity_members (
    address_id bigint PRIMARY KEY,
    entity_id  bigint NOT NULL
);
CREATE INDEX entity_members_entity ON entity_members (entity_id);
COMMENT ON TABLE entity_members IS 'Citus: distributed by address_id.';

CREATE VIEW address_entity AS
    SELECT a.address_id, coalesce(m.entity_id, a.address_id) AS entity_id
    FROM addresses a LEFT JOIN entity_members m USING (address_id);
COMMENT ON VIEW address_entity IS 'Every exported address with its entity id.';

CREATE TABLE label_sources (
    source_id integer     PRIMARY KEY,
    kind      text        NOT NULL,
    name      text        NOT NULL,
    file      text        NOT NULL,
    sha256    text        NOT NULL,
    imported  timestamptz NOT NULL
);
COMMENT ON TABLE label_sources IS 'Citus: reference table.';

CREATE TABLE labels (
    address_id      bigint  NOT NULL,
    address         text    NOT NULL,
    source_id       integer, -- null when two sources share the name
    list            text    NOT NULL,
    label           text    NOT NULL,
    category        text    NOT NULL,
    abuse           text    NOT NULL,
    actor           text    NOT NULL,
    confidence      integer NOT NULL,
    cluster_definer boolean NOT NULL,
    listed_from     date,
    listed_to       date
);
CREATE INDEX labels_address ON labels (address_id);
COMMENT ON TABLE labels IS 'Citus: reference table. Labels of indexed addresses.';

CREATE TABLE exposure (
    address_id        bigint   NOT NULL,
    category          text     NOT NULL,
    direction         text     NOT NULL, -- received or sent
    indirect          boolean  NOT NULL,
    sats              bigint   NOT NULL,
    min_hops          smallint NOT NULL,
    source_address_id bigint, -- the labelled address of the biggest contribution
    source_tx         bigint,  -- and its hop-1 transaction
    PRIMARY KEY (address_id, category, direction, indirect)
);
COMMENT ON TABLE exposure IS 'Citus: distributed by address_id. Exposure aggregates per address as risk stores them.';

CREATE VIEW entity_exposure AS
    SELECT ae.entity_id, x.category, x.direction, x.indirect, sum(x.sats) AS sats, min(x.min_hops) AS min_hops
    FROM exposure x JOIN address_entity ae USING (address_id)
    GROUP BY ae.entity_id, x.category, x.direction, x.indirect;
COMMENT ON VIEW entity_exposure IS 'Exposure summed over each entity''s addresses.';
