package engine

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"archy.dev/archy/plan"
)

// Event is something the daemon reports to the node's UI and the logs:
// a reconcile, a step, a state change, a failure, a backoff, a config or
// Podman problem. It never carries a secret value.
type Event struct {
	// ID is the event's id in the SSE stream (set by Bus.Publish): what a
	// reconnecting client sends back as Last-Event-ID.
	ID      string            `json:"id,omitempty"`
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
// subscriber loses events rather than stalling the daemon. It keeps the
// last events in a ring, so that a client that reconnects is given what
// it missed (SSE's Last-Event-ID).
type Bus struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
	boot string  // this bus's part of every id: ids of another daemon run are all older
	seq  uint64  // the last event's number
	ring []Event // the last RingSize events, oldest at ring[next] once full
	next int
}

// RingSize is how many events a Bus keeps for replay: a few minutes of a
// busy node, a few hundred bytes each.
const RingSize = 512

// Publish numbers e, keeps it for replay and sends it to every
// subscriber that has room for it.
func (b *Bus) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.init()
	b.seq++
	e.ID = b.boot + "-" + strconv.FormatUint(b.seq, 10)
	if len(b.ring) < RingSize {
		b.ring = append(b.ring, e)
	} else {
		b.ring[b.next] = e
		b.next = (b.next + 1) % RingSize
	}
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (b *Bus) init() {
	if b.boot == "" {
		b.boot = strconv.FormatInt(time.Now().UnixMilli(), 10)
	}
	if b.subs == nil {
		b.subs = map[chan Event]struct{}{}
	}
}

// Subscribe returns a channel of events and a function to stop them.
func (b *Bus) Subscribe() (<-chan Event, func()) {
	_, ch, stop := b.SubscribeFrom(Replay{})
	return ch, stop
}

// Replay says which kept events a new subscriber is given first: those
// after the event LastID (from this bus, or all of them when the id is
// another run's), and those after Since. The zero Replay gives none.
type Replay struct {
	LastID string
	Since  time.Time
}

func (r Replay) wants(boot string, e Event) bool {
	if !r.Since.IsZero() && !e.Time.After(r.Since) {
		return false
	}
	if r.LastID == "" {
		return !r.Since.IsZero()
	}
	rb, rn, ok := splitID(r.LastID)
	if !ok || rb != boot {
		return true // another run's (or no) id: everything kept is newer
	}
	_, n, _ := splitID(e.ID)
	return n > rn
}

func splitID(id string) (boot string, n uint64, ok bool) {
	boot, num, ok := strings.Cut(id, "-")
	if !ok {
		return "", 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return boot, n, err == nil
}

// SubscribeFrom is Subscribe, and also returns the kept events r asks
// for: no event is lost or given twice between the two.
func (b *Bus) SubscribeFrom(r Replay) ([]Event, <-chan Event, func()) {
	ch := make(chan Event, 64)
	b.mu.Lock()
	b.init()
	var missed []Event
	for i := range b.ring {
		if e := b.ring[(b.next+i)%len(b.ring)]; r.wants(b.boot, e) {
			missed = append(missed, e)
		}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return missed, ch, func() {
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
	ConfigError string `json:"config_error,omitempty"`
	// StateError says why archy will not act on its state file (damaged
	// with no previous good version, of an unknown version, or missing
	// while archy's containers are there: docs/state.md); the daemon
	// touches no container until the operator decides.
	StateError string      `json:"state_error,omitempty"`
	Apps       []AppStatus `json:"apps"`
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
