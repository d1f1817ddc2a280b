package engine

import (
	"sync"
	"time"

	"archy.dev/archy/plan"
)

// Event is something the daemon reports to the node's UI and the logs:
// a reconcile, a step, a state change, a failure, a backoff, a config or
// Podman problem. It never carries a secret value.
type Event struct {
	Time    time.Time         `json:"time"`
	Type    string            `json:"type"` // see the Event* constants
	App     string            `json:"app,omitempty"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// Event types.
const (
	EventReconcile = "reconcile" // a reconcile started or finished
	EventStep      = "step"      // an action on an app done
	EventState     = "state"     // an app's state or health changed
	EventFailure   = "failure"   // a step or probe failed
	EventWarning   = "warning"   // done, but something went wrong on the way (an app killed after its stop timeout)
	EventBackoff   = "backoff"   // an app is held back after crashing
	EventRollback  = "rollback"  // an upgrade failed its proof; the previous generation runs again
	EventConfig    = "config"    // the apps were reloaded, or an edit was rejected
	EventPodman    = "podman"    // lost or regained the Podman connection
)

// Bus fans events out to subscribers (the API's event stream). A slow
// subscriber loses events rather than stalling the daemon.
type Bus struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// Publish sends e to every subscriber that has room for it.
func (b *Bus) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// Subscribe returns a channel of events and a function to stop them.
func (b *Bus) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 64)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan Event]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// NodeStatus is the daemon's view of the node.
type NodeStatus struct {
	// Degraded says why the daemon cannot do its job fully ("" when it
	// can): Podman unreachable, say.
	Degraded string `json:"degraded,omitempty"`
	// ConfigError is the last rejected edit of the apps; the daemon keeps
	// running the last good config meanwhile.
	ConfigError string      `json:"config_error,omitempty"`
	Apps        []AppStatus `json:"apps"`
}

// StatusDocument is the JSON form of a NodeStatus (docs/json.md): archy
// status --json and the API's GET /v1/status.
type StatusDocument struct {
	FormatVersion int `json:"format_version"`
	NodeStatus
	// Problems is what is wrong now (NodeStatus.Problems): the status
	// page's banners.
	Problems []Problem `json:"problems"`
}

// Document is ns as its JSON document; no apps is an empty list.
func (ns NodeStatus) Document() StatusDocument {
	if ns.Apps == nil {
		ns.Apps = []AppStatus{}
	}
	ps := ns.Problems()
	if ps == nil {
		ps = []Problem{}
	}
	return StatusDocument{FormatVersion: plan.FormatVersion, NodeStatus: ns, Problems: ps}
}
