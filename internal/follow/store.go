package follow

import (
	"context"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// PipelineStore is the Store of sleuth follow and sleuth serve: each
// ingest goes through the pipeline in follow mode, so every stage runs in
// its order (clustering, labels' entity index, exposure, alerts) and the
// pipeline's listeners get the block and alert events. Tip and HashAt
// read the index directly: the follower's goroutine is its only writer.
type PipelineStore struct {
	IndexStore
	P *pipeline.Pipeline
	// IndexOnly skips the stages after the index (sleuth follow
	// --no-cluster).
	IndexOnly bool
	Cluster   cluster.Options
}

// NewPipelineStore returns a Store ingesting through p, whose store is db.
func NewPipelineStore(p *pipeline.Pipeline, db *index.DB) *PipelineStore {
	return &PipelineStore{IndexStore: IndexStore{DB: db}, P: p}
}

// Ingest runs the pipeline over dir in follow mode (a record still being
// written at the end of the last file is waited for). The stages catch up
// on the first ingest after a restart even when no block is new.
func (s *PipelineStore) Ingest(ctx context.Context, dir string) error {
	_, err := s.P.Ingest(ctx, pipeline.IngestOptions{
		IngestOptions: index.IngestOptions{BlocksDir: dir, Follow: true},
		IndexOnly:     s.IndexOnly, Cluster: s.Cluster})
	return err
}
