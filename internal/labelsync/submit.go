package labelsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/tagpack"
)

// ErrOutcomeUnknown: the connection to the shared log was lost while the
// append's COMMIT was under way, so the edit may or may not be in the
// log. A Log's Append wraps such a failure in it (pgstore.LabelLog does);
// Submit's error then says to read the edit back before sending it again,
// which could apply it twice.
var ErrOutcomeUnknown = errors.New("the connection to the shared label log (PostgreSQL) was lost during the edit's COMMIT: it may or may not have been stored")

// Submit checks edits without a store (Edit.Check) and appends them to
// log as consecutive entries in one transaction: from then on every
// server that follows the log applies them. It returns the first entry's
// number. The log unreachable is ErrUnavailable with "nothing was
// stored"; a COMMIT whose outcome is unknown is ErrUnavailable and
// ErrOutcomeUnknown, saying how to check.
func Submit(ctx context.Context, log Log, by string, timeout time.Duration, edits ...Edit) (uint64, error) {
	for i := range edits {
		if err := edits[i].Check(); err != nil {
			return 0, err
		}
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	first, err := log.Append(actx, by, edits)
	cancel()
	switch {
	case err == nil:
		return first, nil
	case ctx.Err() != nil:
		return 0, ctx.Err()
	case errors.Is(err, ErrOutcomeUnknown):
		return 0, fmt.Errorf("%w: %w: read it back (GET /v1/labels/{address}, or the log's last entries) before sending it again, or it may apply twice", ErrUnavailable, err)
	}
	return 0, fmt.Errorf("%w: nothing was stored: %w", ErrUnavailable, err)
}

// OwnEdit returns the edit that adds an investigator's label l on address
// addr of network net (or, entity, on the entity that holds it), checked
// as label.CheckOwn checks it but without a store, and with its default
// filled in (ListedFrom: today), so that every server applies the same
// label whenever it applies the entry. A command that has no chain index
// at hand (sleuth label add --shared) logs edits through it.
func OwnEdit(net *btc.Network, addr string, entity bool, l label.Label) (Edit, error) {
	if _, err := address.Decode(addr, net); err != nil {
		return Edit{}, err
	}
	if l.Label == "" || l.Category == "" || l.Source == "" {
		return Edit{}, errors.New("a label needs --label, --category and --source")
	}
	if l.Confidence < 0 || l.Confidence > 100 {
		return Edit{}, fmt.Errorf("confidence %d: want 0..100", l.Confidence)
	}
	tax := tagpack.DefaultTaxonomy()
	for _, c := range []string{l.Category, l.Abuse} {
		if _, ok := tax.Concept(c); c != "" && !ok {
			return Edit{}, fmt.Errorf("%w: %q is not a concept of the GraphSense taxonomy (e.g. exchange, mixing_service, ransomware, service_hack, sanction)", label.ErrCategory, c)
		}
	}
	if l.ListedFrom.IsZero() {
		l.ListedFrom = time.Now().UTC().Truncate(24 * time.Hour)
	}
	if !l.ListedTo.IsZero() && !l.ListedTo.After(l.ListedFrom) {
		return Edit{}, fmt.Errorf("listed to %s is not after listed from %s", l.ListedTo.Format(time.DateOnly), l.ListedFrom.Format(time.DateOnly))
	}
	return AddEdit(addr, entity, l), nil
}
