package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"archy.dev/archy/schema"
)

// ErrUnknownApp matches every error about an app id the catalogue does
// not declare (errors.Is), wherever it was made: the API answers it 404.
var ErrUnknownApp = errors.New("no such app")

// UnknownAppError is an app id the catalogue does not declare.
type UnknownAppError struct {
	ID    string
	Dir   string   // the catalogue's directory, when known
	Known []string // the declared ids, listed in the message when set
}

func (e *UnknownAppError) Error() string {
	switch {
	case len(e.Known) > 0:
		return fmt.Sprintf("no app %q (the apps are: %s)", e.ID, strings.Join(e.Known, ", "))
	case e.Dir != "":
		return fmt.Sprintf("no app %q in %s", e.ID, e.Dir)
	}
	return fmt.Sprintf("no app %q", e.ID)
}

func (e *UnknownAppError) Is(target error) bool { return target == ErrUnknownApp }

// App returns the declared app id, or an *UnknownAppError.
func (c *Catalog) App(id string) (*schema.App, error) {
	if app, ok := c.Apps[id]; ok {
		return app, nil
	}
	return nil, &UnknownAppError{ID: id, Dir: c.Dir}
}

// Select returns the apps named in only, with everything they depend on
// when withDeps, or every app when only is empty; in id order. An unknown
// id is an *UnknownAppError that lists the declared ones.
func (c *Catalog) Select(only []string, withDeps bool) ([]*schema.App, error) {
	ids := c.IDs()
	if len(only) == 0 {
		return c.List(), nil
	}
	want := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if want[id] || c.Apps[id] == nil {
			return
		}
		want[id] = true
		if !withDeps {
			return
		}
		for _, d := range c.Apps[id].Dependencies {
			visit(d.AppID)
		}
	}
	for _, id := range only {
		if c.Apps[id] == nil {
			return nil, &UnknownAppError{ID: id, Dir: c.Dir, Known: ids}
		}
		visit(id)
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return !want[id] })
	out := make([]*schema.App, len(ids))
	for i, id := range ids {
		out[i] = c.Apps[id]
	}
	return out, nil
}
