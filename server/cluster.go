package server

import (
	"net/http"
	"os"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/runstate"
)

// clusterStatus answers GET /api/v1/cluster. It names servers and counts
// jobs of every organisation together (no organisation's data), so an
// organisation admin may read it.
func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request, _ control.Actor) error {
	if s.cluster == nil {
		host, _ := os.Hostname()
		writeJSON(w, http.StatusOK, runstate.ClusterStatus{Mode: "local", Node: host, Leader: host,
			Nodes: []runstate.ClusterNode{{Name: host, Alive: true, Leader: true}}, Queues: []runstate.ClusterQueue{}})
		return nil
	}
	st, err := s.cluster.Status(r.Context())
	return reply(w, http.StatusOK, st, err)
}
