package plan

// FormatVersion is the version of every JSON document archy writes (plans
// and saved plans, status, list, history and the API's): one
// format_version key, documented in docs/json.md. It changes only when a
// field changes meaning or goes away.
const FormatVersion = 1

// Actions is the vocabulary in the order plans count it.
var Actions = []Action{Build, Pull, Adopt, Create, Recreate, Start, Stop, Remove}

// Document is the JSON form of a plan (docs/json.md): plan --json, a saved
// plan (plan --out) and the API's GET /v1/plan.
type Document struct {
	FormatVersion int            `json:"format_version"`
	Fingerprint   string         `json:"fingerprint"`
	Changes       int            `json:"changes"`
	Summary       map[Action]int `json:"summary"`
	Steps         []Step         `json:"steps"`
	// RemoveNetworks are archy's own app networks a --prune apply
	// removes (nothing uses them).
	RemoveNetworks []string `json:"remove_networks,omitempty"`
	// Options are the flags a saved plan was made with (plan --out), so
	// that apply --plan covers the same apps.
	Options *Options `json:"options,omitempty"`
}

// Options are the plan flags recorded in a saved plan.
type Options struct {
	Only  []string `json:"only,omitempty"`
	Prune bool     `json:"prune,omitempty"`
}

// Document is p as its JSON document, every action counted.
func (p Plan) Document() Document {
	summary := map[Action]int{}
	counts := p.Count()
	for _, a := range Actions {
		summary[a] = counts[a]
	}
	steps := p.Steps
	if steps == nil {
		steps = []Step{}
	}
	return Document{FormatVersion: FormatVersion, Fingerprint: p.Fingerprint, Changes: p.Changes(), Summary: summary, Steps: steps, RemoveNetworks: p.RemoveNetworks}
}
