package podman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/containers/buildah/define"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/domain/entities/types"

	"archy.dev/archy/engine"
	"archy.dev/archy/internal/buildctx"
)

// pullPolicies are the policies of the CUE schema; Podman knows them by the
// same names.
var pullPolicies = []string{"missing", "always", "never", "newer"}

// Pull pulls ref with policy and returns the image id. Registry trust
// (insecure registries, mirrors, signatures) is the service's
// registries.conf and policy.json: nothing here overrides it. With policy
// "never" and no local image the error wraps engine.ErrNotFound.
func (p *Podman) Pull(ctx context.Context, ref, policy string, progress io.Writer) (string, error) {
	if policy == "" {
		policy = "missing"
	}
	if !slices.Contains(pullPolicies, policy) {
		return "", fmt.Errorf("pulling %s: unknown pull policy %q (want one of %s)", ref, policy, strings.Join(pullPolicies, ", "))
	}
	if progress == nil {
		progress = io.Discard
	}
	ctx, cancel := p.call(ctx)
	defer cancel()
	opts := new(images.PullOptions).WithPolicy(policy).WithQuiet(false).WithProgressWriter(progress)
	ids, err := images.Pull(ctx, ref, opts)
	if err != nil {
		// Podman 4.3.1 answers a missing image under "never" with a 500
		// saying storage's "image not known"; a 404 is as good.
		if policy == "never" && (isNotFound(err) || strings.Contains(err.Error(), "image not known")) {
			return "", fmt.Errorf("pulling %s: pull policy is never and the image is not present locally: %w",
				ref, notFound{err})
		}
		return "", wrap(err, "pulling %s", ref)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("pulling %s: podman reported no image", ref)
	}
	return ids[0], nil
}

// buildTail is how many lines of build output a failed build's error
// carries.
const buildTail = 20

// Build builds spec's context and tags the result spec.Tag. Layers are
// cached and intermediate containers removed; output streams to progress.
// A failed build's error ends with the last lines of its output.
func (p *Podman) Build(ctx context.Context, spec engine.BuildSpec, progress io.Writer) (string, error) {
	if progress == nil {
		progress = io.Discard
	}
	tail := &tailWriter{max: buildTail}
	out := io.MultiWriter(progress, tail)
	// The file vetted and hashed is the one built: all three resolve it
	// with buildctx, and a Dockerfile out of the context is refused here
	// too.
	contextDir, dockerfile, err := buildctx.Resolve(spec.ContextDir, spec.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("building %s: %w", spec.Tag, err)
	}
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(spec.Labels)) {
		labels = append(labels, k+"="+spec.Labels[k])
	}
	ctx, cancel := p.call(ctx)
	defer cancel()
	report, err := images.Build(ctx, []string{dockerfile}, types.BuildOptions{
		BuildOptions: define.BuildOptions{
			ContextDirectory:        contextDir,
			Output:                  spec.Tag,
			Args:                    spec.BuildArgs,
			Labels:                  labels,
			Layers:                  true,
			RemoveIntermediateCtrs:  true,
			ForceRmIntermediateCtrs: true,
			Out:                     out,
			Err:                     out,
			ReportWriter:            out,
		},
	})
	if err == nil && (report == nil || report.ID == "") {
		err = errors.New("podman reported no image id")
	}
	if err != nil {
		return "", wrap(buildError{err: err, tail: tail.String()}, "building %s", spec.Tag)
	}
	return report.ID, nil
}

// buildError is a failed build's error with the last lines of its output.
type buildError struct {
	err  error
	tail string
}

func (e buildError) Unwrap() error { return e.err }

func (e buildError) Error() string {
	msg := strings.TrimSpace(e.err.Error())
	if e.tail == "" {
		return msg
	}
	return msg + "\nthe build output ends:\n    " + strings.ReplaceAll(e.tail, "\n", "\n    ")
}

// tailWriter keeps the last max lines written to it.
type tailWriter struct {
	max     int
	lines   []string
	partial string
}

func (w *tailWriter) Write(b []byte) (int, error) {
	s := w.partial + string(b)
	parts := strings.Split(s, "\n")
	w.partial = parts[len(parts)-1]
	for _, l := range parts[:len(parts)-1] {
		w.lines = append(w.lines, l)
	}
	if over := len(w.lines) - w.max; over > 0 {
		w.lines = slices.Delete(w.lines, 0, over)
	}
	return len(b), nil
}

func (w *tailWriter) String() string {
	lines := w.lines
	if w.partial != "" {
		lines = append(slices.Clip(lines), w.partial)
		if len(lines) > w.max {
			lines = lines[len(lines)-w.max:]
		}
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}
