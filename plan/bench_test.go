package plan

import (
	"fmt"
	"testing"

	"archy.dev/archy/schema"
)

// benchInput is n apps in dependency chains against a snapshot where a
// third are converged, a third exited and a third missing.
func benchInput(n int) Input {
	var in Input
	for i := range n {
		a := app(fmt.Sprintf("app-%d", i), func(a *schema.App) {
			a.Environment = map[string]string{"A": "1", "B": fmt.Sprint(i)}
			a.Ports = []schema.Port{{Container: 80, Host: 20000 + i, Protocol: "tcp"}}
			a.Volumes = []schema.Volume{{Name: fmt.Sprintf("v%d", i), Target: "/data"}}
		})
		if i > 0 {
			dependsOn(fmt.Sprintf("app-%d", (i-1)/2))(a)
		}
		d := Desired{App: a}
		in.Desired = append(in.Desired, d)
		if i%3 != 2 {
			o := converged(d)
			if i%3 == 1 {
				o.Containers[0].State = StateExited
			}
			in.Observed.Containers = append(in.Observed.Containers, o.Containers...)
			in.Observed.Images = append(in.Observed.Images, o.Images...)
		}
	}
	return in
}

func benchmarkDiff(b *testing.B, n int) {
	in := benchInput(n)
	for b.Loop() {
		if _, err := Diff(in); err != nil {
			b.Fatal(err)
		}
	}
}

// Target: 300 apps within 50 ms.
func BenchmarkDiff30(b *testing.B)  { benchmarkDiff(b, 30) }
func BenchmarkDiff300(b *testing.B) { benchmarkDiff(b, 300) }
