package catalog

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoadShipped measures loading and vetting the shipped catalogue
// (target: the whole `archy vet` process within 300 ms; see scripts/bench.sh).
func BenchmarkLoadShipped(b *testing.B) {
	opts := Options{DataDir: "/var/lib/archy"}
	for b.Loop() {
		if _, err := Load(shippedApps, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad300 measures a generated catalogue of 300 apps, one file
// each, in dependency chains, a third of them built from a context
// (target: within 3 s).
func BenchmarkLoad300(b *testing.B) { benchmarkLoad(b, generateCatalogue(300), 300) }

// benchmarkLoad loads the catalogue of files (apps/ and docker/), of n
// apps, once per iteration.
func benchmarkLoad(b *testing.B, files map[string]string, n int) {
	dir := writeTree(b, files)
	opts := Options{DataDir: "/var/lib/archy"}
	b.ResetTimer()
	for b.Loop() {
		cat, err := Load(filepath.Join(dir, "apps"), opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(cat.Apps) != n {
			b.Fatalf("loaded %d apps, want %d", len(cat.Apps), n)
		}
	}
}

// generateCatalogue writes n apps like the node's: every app depends on one
// or two earlier ones, publishes its own port, mounts a named volume and
// has a health check; every third one is a UI built from a context.
func generateCatalogue(n int) map[string]string {
	files := map[string]string{"docker/ui/Dockerfile": "FROM scratch\n"}
	for i := range n {
		var deps []string
		if i > 0 {
			deps = append(deps, fmt.Sprintf(`{app_id: "app-%d"}`, (i-1)/2))
		}
		if i > 1 {
			deps = append(deps, fmt.Sprintf(`{app_id: "app-%d", condition: "started"}`, i-1))
		}
		source := fmt.Sprintf(`image: "docker.io/example/app-%d:1.0.%d"`, i, i)
		role := "service"
		if i%3 == 2 {
			role = "ui"
			source = fmt.Sprintf(`source: {type: "build", context: "../docker/ui", tag: "localhost/app-%d:local"}`, i)
		}
		files[fmt.Sprintf("apps/app-%d.cue", i)] = fmt.Sprintf(`package apps

apps: "app-%[1]d": {
	name:    "App %[1]d"
	version: "1.0.%[1]d"
	role:    %[2]q
	container: %[3]s
	dependencies: [%[4]s]
	resources: {memory_limit: "128Mi", cpus: 0.5}
	ports: [{container: 8080, host: %[5]d, host_ip: "127.0.0.1"}]
	volumes: [{name: "app-%[1]d-data", target: "/data"}]
	environment: {LOG_LEVEL: "info", PEER: "app-%[1]d"}
	secrets: [{name: "app-%[1]d-password", env: "PASSWORD"}]
	health_check: {type: "http", endpoint: "http://127.0.0.1:%[5]d", path: "/health"}
}
`, i, role, source, strings.Join(deps, ", "), 20000+i)
	}
	return files
}

// BenchmarkLoadOneFile1000 and BenchmarkLoadOneFile4000 measure a
// catalogue of 1,000 and 4,000 apps in one file, every third app depending
// on the one before it: the shape issue 15 timed, whose cost grew with the
// square of the apps. Their ratio should stay near 4.
func BenchmarkLoadOneFile1000(b *testing.B) { benchmarkLoadOneFile(b, 1000) }
func BenchmarkLoadOneFile4000(b *testing.B) { benchmarkLoadOneFile(b, 4000) }

func benchmarkLoadOneFile(b *testing.B, n int) {
	benchmarkLoad(b, map[string]string{"apps/apps.cue": generateOneFile(n)}, n)
}

// generateOneFile writes n apps in one file; every third app depends on
// the app before it (scripts/bench.sh writes the same catalogue).
func generateOneFile(n int) string {
	var b strings.Builder
	b.WriteString("package apps\n")
	for i := range n {
		deps := ""
		if i%3 == 2 {
			deps = fmt.Sprintf("\n\tdependencies: [{app_id: \"app-%d\"}]", i-1)
		}
		fmt.Fprintf(&b, `
apps: "app-%[1]d": {
	name:    "App %[1]d"
	version: "1.0.%[1]d"
	container: image: "docker.io/example/app-%[1]d:1.0"%[2]s
	ports: [{container: 8080, host: %[3]d}]
}
`, i, deps, 10000+i)
	}
	return b.String()
}
