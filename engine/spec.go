package engine

import (
	"fmt"

	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// containerSpec derives the container to create from an app, with the
// labels that let later plans recognise it and name what changed.
func containerSpec(app *schema.App, image string) (ContainerSpec, error) {
	if _, err := app.Resources.MemoryBytes(); err != nil {
		return ContainerSpec{}, fmt.Errorf("resources.memory_limit: %w", err)
	}
	return ContainerSpec{
		Name:  app.ContainerName,
		Image: image,
		Labels: map[string]string{
			plan.LabelApp:      app.ID,
			plan.LabelSpecHash: plan.SpecHash(app),
			plan.LabelSpec:     plan.SpecJSON(app),
		},
		ContainerConfig: app.ContainerConfig, // Privileged: vet refused it without the operator's opt-in
	}, nil
}
