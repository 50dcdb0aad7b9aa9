package api

import (
	"fmt"
	"strconv"

	"github.com/sleuth-forensics/sleuth/internal/pdf"
)

// caseReportPDF lays out the case report (the same sections, figures and
// txids as reportTmpl's HTML) as a PDF document.
func caseReportPDF(d *caseReportData) *pdf.Doc {
	c := &d.Case
	title := fmt.Sprintf("Case %d: %s", c.ID, c.Name)
	doc := pdf.New(title, "sleuth case report · "+title)
	txt := func(s string) pdf.Run { return pdf.Run{Font: pdf.Helvetica, Text: s} }
	mono := func(s string) pdf.Run { return pdf.Run{Font: pdf.Courier, Text: s} }
	none := func() { doc.Paragraph(txt("None.")) }
	const day, minute = "2006-01-02 15:04", "2006-01-02 15:04 UTC"

	doc.Heading(1, title)
	doc.Paragraph(txt(fmt.Sprintf("Status %s · opened %s by %s · last change %s · chain tip %s at the time of this report",
		c.Status, c.Created.Format(minute), c.CreatedBy, c.Updated.Format(minute), d.Tip)))
	if c.Description != "" {
		doc.Paragraph(txt(c.Description))
	}

	doc.Heading(2, "Sources")
	for i, src := range c.Sources {
		doc.Item(i+1, mono(src))
	}
	if len(c.Sources) == 0 {
		none()
	}

	doc.Heading(2, "Traces: where the money went")
	for i, t := range d.Traces {
		doc.Heading(3, fmt.Sprintf("Trace %d: %s by %s, chain height %d", i+1, t.At.Format(day), t.By, t.Height))
		doc.Paragraph(txt("Parameters: "), mono(string(t.Params)))
		sum := t.Sum
		if sum == nil {
			continue
		}
		trunc := ""
		if sum.Truncated {
			trunc = " (truncated)"
		}
		doc.Paragraph(txt(fmt.Sprintf("Traced %s; cashed out %s; still held %s; fees %s; through CoinJoins (uncertain) %s; %d transactions read%s.",
			reportBTC(sum.Totals.Source), reportBTC(sum.Totals.CashedOut), reportBTC(sum.Totals.Held), reportBTC(sum.Totals.Fee),
			reportBTC(sum.Totals.CoinJoin), sum.TxsRead, trunc)))
		if len(sum.CashOuts) == 0 {
			doc.Paragraph(txt("No cash-out entity reached."))
			continue
		}
		rows := make([][]pdf.Run, 0, len(sum.CashOuts))
		for _, e := range sum.CashOuts {
			rows = append(rows, []pdf.Run{txt(entityName(e.Label, e.ID)), txt(e.Category), txt(reportBTC(e.Sats)), txt(reportPct(e.Share)),
				txt(fmt.Sprintf("%d–%d", e.MinHops, e.MaxHops)), txt(e.First + " … " + e.Last)})
		}
		doc.Table([]pdf.Column{{Title: "Cash-out entity", Width: 0.25}, {Title: "Category", Width: 0.12}, {Title: "Received", Width: 0.19, Right: true},
			{Title: "Share", Width: 0.08, Right: true}, {Title: "Hops", Width: 0.07}, {Title: "First … last", Width: 0.29}}, rows)
		doc.Paragraph(pdf.Run{Font: pdf.Bold, Text: "Evidence paths"})
		n := 0
		for _, e := range sum.CashOuts {
			for _, p := range e.Paths {
				n++
				runs := []pdf.Run{txt(entityName(e.Label, e.ID) + ": " + reportBTC(p.Sats) + " via ")}
				for j, x := range p.TxIDs {
					if j > 0 {
						runs = append(runs, txt(" > "))
					}
					runs = append(runs, mono(x))
				}
				doc.Item(n, runs...)
			}
		}
	}
	if len(d.Traces) == 0 {
		none()
	}

	doc.Heading(2, "Labels added")
	if len(c.Labels) > 0 {
		rows := make([][]pdf.Run, 0, len(c.Labels))
		for _, l := range c.Labels {
			rows = append(rows, []pdf.Run{txt(l.At.Format(day)), txt(l.By), mono(l.Ref), txt(l.Label), txt(l.Category)})
		}
		doc.Table([]pdf.Column{{Title: "When", Width: 0.19}, {Title: "By", Width: 0.15}, {Title: "Address or entity", Width: 0.3},
			{Title: "Label", Width: 0.22}, {Title: "Category", Width: 0.14}}, rows)
	} else {
		none()
	}

	doc.Heading(2, "Notes")
	for _, n := range c.Notes {
		doc.Paragraph(pdf.Run{Font: pdf.Bold, Text: n.At.Format(day) + " " + n.By + ": "}, txt(n.Text))
	}
	if len(c.Notes) == 0 {
		none()
	}

	doc.Heading(2, "Audit log")
	rows := make([][]pdf.Run, 0, len(d.Audit))
	for _, e := range d.Audit {
		rows = append(rows, []pdf.Run{txt(strconv.FormatUint(e.Seq, 10)), txt(e.At.Format("2006-01-02 15:04:05")), txt(e.By), txt(e.Action), txt(e.Detail)})
	}
	doc.Table([]pdf.Column{{Title: "#", Width: 0.06, Right: true}, {Title: "When", Width: 0.22}, {Title: "Who", Width: 0.16},
		{Title: "What", Width: 0.13}, {Title: "Detail", Width: 0.43}}, rows)

	doc.Heading(2, "Methodology")
	doc.Paragraph(txt(d.Methodology))
	doc.Paragraph(txt("Policies of this case's traces: " + d.Policies + "."))
	rows = rows[:0]
	for _, a := range d.Accuracy {
		rows = append(rows, []pdf.Run{txt(a.What), txt(a.Figure), txt(a.Where)})
	}
	doc.Table([]pdf.Column{{Title: "Measured", Width: 0.38}, {Title: "Result", Width: 0.32}, {Title: "On", Width: 0.3}}, rows)
	doc.Paragraph(txt(d.Limits))
	return doc
}

// entityName is how the report names a cash-out entity.
func entityName(label string, id uint64) string {
	if label != "" {
		return label
	}
	return "entity " + strconv.FormatUint(id, 10)
}
