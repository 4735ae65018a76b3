// Package runstate is the contract between the control plane (store, HTTP
// API) and the runtime that runs Live dataflows: the types they exchange and
// the two small interfaces each side implements. Neither side imports the
// other; both import this.
package runstate

import (
	"context"
	"errors"
	"time"
)

// Flow statuses (runtime control, Connect+ §5.4).
const (
	StatusActive  = "Active"
	StatusPaused  = "Paused"
	StatusStopped = "Stopped"
)

// Run statuses, as Connect+ names them.
const (
	RunRunning     = "Running"
	RunSuccess     = "Success"
	RunPartial     = "Partial Success"
	RunFailure     = "Failure"
	RunInterrupted = "Interrupted" // the process stopped mid-file; resumed later
	RunStopped     = "Stopped"     // Stop released the file for reprocessing
)

// ErrNotFound is returned for missing rows.
var ErrNotFound = errors.New("not found")

// Deployment is one Live dataflow version the runtime must run.
type Deployment struct {
	OrgID    string `json:"orgId"`
	FlowID   string `json:"flowId"`
	FlowName string `json:"flowName"`
	// VersionID and Version identify the Live version.
	VersionID string `json:"versionId"`
	Version   int    `json:"version"`
	// Document is the dataflow document (YAML or JSON) of the version.
	Document []byte `json:"-"`
	// Status is Active, Paused or Stopped.
	Status string `json:"status"`
	// TimeZone is the organisation's IANA zone for schedules.
	TimeZone string `json:"timeZone"`
	// ConfigRevision changes whenever an Extension Configuration the flow
	// uses is synced, so the runtime re-resolves on the next file.
	ConfigRevision int64     `json:"configRevision"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// Key identifies a deployment for claims and checkpoints. It names the flow,
// not the version: a new Live version resumes the files the old one claimed.
func (d Deployment) Key() string { return d.OrgID + "/" + d.FlowID }

// Run is one source file's processing (one lineage).
type Run struct {
	ID        string `json:"id"` // the lineage ID
	OrgID     string `json:"orgId"`
	FlowID    string `json:"flowId"`
	FlowName  string `json:"flowName"`
	VersionID string `json:"versionId"`
	Version   int    `json:"version"`
	Source    string `json:"source"` // source block
	FileName  string `json:"fileName"`
	FilePath  string `json:"filePath"`
	FileSize  int64  `json:"fileSize"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`

	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`

	RecordsIn       int64            `json:"recordsIn"`
	Delivered       int64            `json:"delivered"`
	Filtered        int64            `json:"filtered"`
	Failed          int64            `json:"failed"`
	RetryExhausted  int64            `json:"retryExhausted"`
	AvgRecordMicros int64            `json:"avgRecordMicros"`
	Interruptions   int              `json:"interruptions"`
	ResultName      string           `json:"resultName,omitempty"`
	ResultPath      string           `json:"resultPath,omitempty"` // local copy, for download
	StatusCodes     map[string]int64 `json:"statusCodes,omitempty"`
	BlockStats      []byte           `json:"blockStats,omitempty"` // JSON array of per-block counters
	// Node is the cluster node that ran the file (the last one, when a
	// node died and another resumed it); empty on one server.
	Node string `json:"node,omitempty"`
}

// RunFilter selects runs.
type RunFilter struct {
	OrgID  string
	FlowID string
	Status string
	Since  time.Time
	Until  time.Time
	Limit  int
	Offset int
}

// Repo is what the runtime needs from the store. The store implements it
// over SQLite or PostgreSQL; runtime tests use an in-memory one.
type Repo interface {
	// LiveDeployments lists the Live version of every active (not
	// deactivated) dataflow of every organisation.
	LiveDeployments(ctx context.Context) ([]Deployment, error)
	// ResolveConfig returns an Extension Configuration's (decrypted) value.
	ResolveConfig(ctx context.Context, orgID, name string) (string, error)

	// Claims and checkpoints, keyed by Deployment.Key and an item key.
	// ClaimItem returns the saved checkpoint (nil on a fresh start) and
	// ok=false when the item is done or claimed by a live owner.
	ClaimItem(ctx context.Context, flowKey, itemKey, owner string) (checkpoint []byte, ok bool, err error)
	SaveCheckpoint(ctx context.Context, flowKey, itemKey, owner string, checkpoint []byte) error
	CompleteItem(ctx context.Context, flowKey, itemKey string) error
	ReleaseItem(ctx context.Context, flowKey, itemKey string) error
	// ReleaseOwner releases every claim of a dead owner (process restart).
	ReleaseOwner(ctx context.Context, owner string) error

	// Runs.
	UpsertRun(ctx context.Context, r Run) error
	GetRun(ctx context.Context, orgID, id string) (Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
	PurgeRuns(ctx context.Context, before time.Time) (int, error)

	// SetFlowStatus records Active/Paused/Stopped for a dataflow.
	SetFlowStatus(ctx context.Context, orgID, flowID, status string) error
}

// ConfigSecrecy is implemented by Repos that can tell whether an Extension
// Configuration is a secret without decrypting it. The runtime uses it to
// refuse NiFi parameter references (#{name}) to secrets, which may reach
// only secret block fields.
type ConfigSecrecy interface {
	ConfigIsSecret(ctx context.Context, orgID, name string) (bool, error)
}

// Summary aggregates a dataflow's runs over a window.
type Summary struct {
	FlowID         string           `json:"flowId"`
	From           time.Time        `json:"from"`
	To             time.Time        `json:"to"`
	Runs           int              `json:"runs"`
	RecordsIn      int64            `json:"recordsIn"`
	Delivered      int64            `json:"delivered"`
	Filtered       int64            `json:"filtered"`
	Failed         int64            `json:"failed"`
	RetryExhausted int64            `json:"retryExhausted"`
	AccuracyPct    float64          `json:"accuracyPct"` // delivered ÷ input × 100
	ByStatus       map[string]int   `json:"byStatus"`
	StatusCodes    map[string]int64 `json:"statusCodes"`
}

// Controller is what the HTTP API needs from the runtime. The runtime
// implements it; the server declares routes over it.
type Controller interface {
	// Pause: no new files; in-flight ones finish.
	Pause(ctx context.Context, orgID, flowID string) error
	// Stop: cancel in-flight files now and release them for reprocessing.
	Stop(ctx context.Context, orgID, flowID string) error
	// Start resumes a paused or stopped flow.
	Start(ctx context.Context, orgID, flowID string) error
	// RunNow triggers a poll immediately.
	RunNow(ctx context.Context, orgID, flowID string) error
	// Status reports the flow's runtime status and Live version.
	Status(ctx context.Context, orgID, flowID string) (FlowRuntime, error)
	// Reload re-reads Live deployments (after make-live, deactivate, sync).
	Reload(ctx context.Context) error
	// CheckSourceConflict refuses a version going Live that watches the same
	// source folder or writes results to the same error folder as another
	// Live dataflow of the organisation (Connect+'s race warning).
	CheckSourceConflict(ctx context.Context, orgID, flowID string, document []byte) error
}

// FlowRuntime is the runtime's view of one dataflow.
type FlowRuntime struct {
	FlowID      string     `json:"flowId"`
	Status      string     `json:"status"`
	LiveVersion int        `json:"liveVersion"`
	InFlight    int        `json:"inFlight"`
	LastPoll    *time.Time `json:"lastPoll,omitempty"`
	NextRun     *time.Time `json:"nextRun,omitempty"`
	Draining    []int      `json:"draining,omitempty"` // older versions finishing in-flight files
	// Deployment is Deploying (compiling and connecting, or waiting for an
	// older version to finish), Deployed or Failed (DeployError says why;
	// retried on the next reload or run-now). Empty when stopped.
	Deployment  string `json:"deployment,omitempty"`
	DeployError string `json:"deployError,omitempty"`
}

// Deployment states of a Live version in the runtime.
const (
	DeployPending = "Deploying"
	DeployReady   = "Deployed"
	DeployFailed  = "Failed"
)

// ClusterStatus is GET /api/v1/cluster: the nodes sharing the runtime's
// work, the elected leader, queue depths and the jobs running per node.
// A single server (the local dispatcher) reports itself as the one node.
type ClusterStatus struct {
	// Mode is "local" (one server, SQLite or PostgreSQL) or "cluster"
	// (River on PostgreSQL).
	Mode string `json:"mode"`
	// Node is the node that answered.
	Node         string         `json:"node"`
	Leader       string         `json:"leader"`
	LeaseSeconds float64        `json:"leaseSeconds,omitempty"`
	Nodes        []ClusterNode  `json:"nodes"`
	Queues       []ClusterQueue `json:"queues"`
}

// ClusterNode is one server of the cluster.
type ClusterNode struct {
	Name      string    `json:"name"`
	Addr      string    `json:"addr,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	SeenAt    time.Time `json:"seenAt"`
	// Alive: heart-beat within the lease.
	Alive       bool `json:"alive"`
	Leader      bool `json:"leader"`
	RunningJobs int  `json:"runningJobs"`
}

// ClusterQueue is the depth of one job queue.
type ClusterQueue struct {
	Name      string `json:"name"`
	Available int    `json:"available"` // waiting for a worker
	Running   int    `json:"running"`
	Scheduled int    `json:"scheduled"` // snoozed or waiting for a retry
}

// ClusterReporter reports the cluster's state (implemented by the cluster
// dispatcher; the server answers for a single node without one).
type ClusterReporter interface {
	Status(ctx context.Context) (ClusterStatus, error)
}
