package openadr

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
)

// fetchEvents reads every event the VTN lists (of ProgramID, if set),
// page by page.
func (b *Bridge) fetchEvents(ctx context.Context) ([]oadr3.Event, error) {
	var all []oadr3.Event
	for page := range maxPages {
		skip, limit := int32(page*pageLimit), int32(pageLimit)
		params := &oadr3.SearchAllEventsParams{Skip: &skip, Limit: &limit}
		if b.cfg.ProgramID != "" {
			params.ProgramID = &b.cfg.ProgramID
		}
		resp, err := b.api.SearchAllEvents(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		evs, err := readEvents(resp)
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
		if len(evs) < pageLimit {
			return all, nil
		}
	}
	return all, fmt.Errorf("events: more than %d pages", maxPages)
}

// readEvents decodes one page of events and closes the body.
func readEvents(resp *http.Response) ([]oadr3.Event, error) {
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("events: VTN answered %s", resp.Status)
	}
	return DecodeEvents(resp.Body)
}

// postReport sends one report.
func (b *Bridge) postReport(ctx context.Context, r oadr3.Report) error {
	resp, err := b.api.CreateReport(ctx, r)
	if err != nil {
		return fmt.Errorf("report %s: %w", deref(r.ReportName), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("report %s: VTN answered %s", deref(r.ReportName), resp.Status)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
