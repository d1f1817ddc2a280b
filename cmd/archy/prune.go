package main

import (
	"errors"
	"fmt"

	"archy.dev/archy/view"
)

// PruneCmd removes what archy made and nothing uses any more.
type PruneCmd struct {
	Images bool `help:"Remove the images archy built or pulled that no container, kept generation or app uses; never an image archy did not make or pull (docs/upgrades.md)."`
	JSON   bool `help:"Print what was removed as JSON (docs/json.md)."`
}

func (c *PruneCmd) Run(g *Globals) error {
	if !c.Images {
		return errors.New("prune: say what to prune: --images")
	}
	ctx, stop := signalContext()
	defer stop()
	s, err := g.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	p, err := s.node.PruneImages(ctx, s.cat)
	if err != nil {
		return err
	}
	if c.JSON {
		err = view.ImagePruneJSON(g.stdout, p)
	} else {
		err = view.ImagePrune(g.stdout, p)
	}
	if err != nil {
		return err
	}
	if len(p.Failed) > 0 {
		return fmt.Errorf("%s could not be removed", view.Count(len(p.Failed), "image"))
	}
	return nil
}
