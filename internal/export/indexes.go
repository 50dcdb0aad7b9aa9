package export

import (
	"context"
	"fmt"
)

// indexes are the secondary indexes of the chain tables (name, table and
// columns). An export from height 0 drops them before its first batch and
// every run builds those missing after its last, so a full load does not
// maintain them row by row (E6).
var indexes = []struct{ name, on string }{
	{"transactions_txid", "transactions (txid)"},
	{"transactions_height", "transactions (height)"},
	{"outputs_address", "outputs (address_id)"},
	{"inputs_address", "inputs (address_id)"},
	{"addresses_address", "addresses (address)"},
}

// dropIndexes drops the secondary indexes before a full load.
func (w *writer) dropIndexes(ctx context.Context) error {
	for _, ix := range indexes {
		if _, err := w.t.pool.Exec(ctx, `DROP INDEX IF EXISTS `+ix.name); err != nil {
			return fmt.Errorf("export: PostgreSQL at %s: drop index %s: %w", w.t.where, ix.name, err)
		}
	}
	return nil
}

// buildIndexes builds the secondary indexes that are missing.
func (w *writer) buildIndexes(ctx context.Context) error {
	for _, ix := range indexes {
		if _, err := w.t.pool.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+ix.name+` ON `+ix.on); err != nil {
			return fmt.Errorf("export: PostgreSQL at %s: build index %s: %w", w.t.where, ix.name, err)
		}
	}
	return nil
}
