package casefile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// AddSources adds sources (txids, TXID:VOUT, addresses, entity ids) to a
// case; ones it already holds are skipped.
func AddSources(ctx context.Context, s Store, id uint64, by string, srcs []string) (Case, error) {
	if err := checkSources("sources", srcs); err != nil {
		return Case{}, err
	}
	return s.Edit(ctx, id, by, "add_sources", func(c *Case) (string, error) {
		have := map[string]bool{}
		for _, x := range c.Sources {
			have[x] = true
		}
		var added []string
		for _, x := range srcs {
			if !have[x] {
				have[x] = true
				added = append(added, x)
			}
		}
		if len(c.Sources)+len(added) > MaxSources {
			return "", invalid("sources", "the case would hold %d sources, at most %d", len(c.Sources)+len(added), MaxSources)
		}
		c.Sources = append(c.Sources, added...)
		return fmt.Sprintf("added %d sources: %s", len(added), strings.Join(added, ", ")), nil
	})
}

// AddNote adds a note.
func AddNote(ctx context.Context, s Store, id uint64, by, text string) (Case, error) {
	if err := checkText("text", text, MaxText, true); err != nil {
		return Case{}, err
	}
	return s.Edit(ctx, id, by, "add_note", func(c *Case) (string, error) {
		if len(c.Notes) >= MaxNotes {
			return "", invalid("text", "the case holds %d notes, at most %d", len(c.Notes), MaxNotes)
		}
		c.Notes = append(c.Notes, Note{At: c.Updated, By: by, Text: text})
		return fmt.Sprintf("note %d (%d bytes)", len(c.Notes), len(text)), nil
	})
}

// AddLabel records that a label was added for the case (the label itself
// is package label's).
func AddLabel(ctx context.Context, s Store, id uint64, by string, l LabelRef) (Case, error) {
	if err := checkText("ref", l.Ref, 100, true); err != nil {
		return Case{}, err
	}
	if err := checkText("label", l.Label, MaxName, true); err != nil {
		return Case{}, err
	}
	return s.Edit(ctx, id, by, "add_label", func(c *Case) (string, error) {
		if len(c.Labels) >= MaxLabels {
			return "", invalid("label", "the case holds %d labels, at most %d", len(c.Labels), MaxLabels)
		}
		l.At, l.By = c.Updated, by
		c.Labels = append(c.Labels, l)
		return fmt.Sprintf("labelled %s %q (%s)", l.Ref, l.Label, l.Category), nil
	})
}

// AddTrace records a trace run for the case: params as the trace route
// took them, the summary it computed and the tip height it ran at.
func AddTrace(ctx context.Context, s Store, id uint64, by string, params, summary json.RawMessage, height int64) (Case, error) {
	if len(params) == 0 || !json.Valid(params) || len(params) > 64<<10 {
		return Case{}, invalid("params", "want a JSON object of at most 64 KiB")
	}
	if len(summary) > 0 && (!json.Valid(summary) || len(summary) > 1<<20) {
		return Case{}, invalid("summary", "want JSON of at most 1 MiB")
	}
	return s.Edit(ctx, id, by, "add_trace", func(c *Case) (string, error) {
		if len(c.Traces) >= MaxTraces {
			return "", invalid("params", "the case holds %d traces, at most %d", len(c.Traces), MaxTraces)
		}
		c.Traces = append(c.Traces, Trace{At: c.Updated, By: by, Params: params, Height: height, Summary: summary})
		return fmt.Sprintf("trace %d at height %d: %s", len(c.Traces), height, params), nil
	})
}

// SetStatus opens or closes a case.
func SetStatus(ctx context.Context, s Store, id uint64, by, status string) (Case, error) {
	if status != Open && status != Closed {
		return Case{}, invalid("status", "want open or closed, got %q", status)
	}
	return s.Edit(ctx, id, by, "set_status", func(c *Case) (string, error) {
		old := c.Status
		c.Status = status
		return old + " → " + status, nil
	})
}
