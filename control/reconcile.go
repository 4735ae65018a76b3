package control

import (
	"context"

	"github.com/connectplus/connectplus/runstate"
)

// ListReconciliations lists a dataflow's reconciliations (what its
// diff_tool blocks reported about its runs), newest first; runID "" lists
// every run's, else that run's.
func (s *Service) ListReconciliations(ctx context.Context, a Actor, flowID, runID string, limit, offset int) (Page[runstate.Reconciliation], error) {
	var p Page[runstate.Reconciliation]
	if err := a.require(RoleViewer); err != nil {
		return p, err
	}
	if _, err := s.st.GetDataflow(ctx, a.OrgID, flowID); err != nil {
		return p, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	list, err := s.st.ListReconciliations(ctx, a.OrgID, flowID, runID, limit+1, offset)
	if err != nil {
		return p, err
	}
	return offsetPage(list, limit, offset), nil
}

// GetReconciliation reads one reconciliation of the organisation.
func (s *Service) GetReconciliation(ctx context.Context, a Actor, id string) (runstate.Reconciliation, error) {
	if err := a.require(RoleViewer); err != nil {
		return runstate.Reconciliation{}, err
	}
	return s.st.GetReconciliation(ctx, a.OrgID, id)
}

// ListReconRecords pages a reconciliation's records (missing, mismatched
// with their field differences, duplicated, invalid) in file order.
func (s *Service) ListReconRecords(ctx context.Context, a Actor, id, kind string, limit, offset int) (Page[runstate.ReconRecord], error) {
	var p Page[runstate.ReconRecord]
	if err := a.require(RoleViewer); err != nil {
		return p, err
	}
	switch kind {
	case "", runstate.ReconMissing, runstate.ReconMismatch, runstate.ReconDuplicate, runstate.ReconInvalid:
	default:
		return p, invalid("kind", "kind must be %s, %s, %s or %s, got %q", runstate.ReconMissing, runstate.ReconMismatch, runstate.ReconDuplicate, runstate.ReconInvalid, kind)
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	list, err := s.st.ListReconRecords(ctx, runstate.ReconFilter{OrgID: a.OrgID, ID: id, Kind: kind, Limit: limit + 1, Offset: offset})
	if err != nil {
		return p, err
	}
	return offsetPage(list, limit, offset), nil
}
