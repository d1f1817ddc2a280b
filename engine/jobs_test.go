package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

func jobApp(id string, jobs ...schema.Job) *schema.App {
	a := testApp(id)
	a.Jobs = jobs
	return a
}

func oneJob(name, phase string) schema.Job {
	return schema.Job{Name: name, SameAsApp: true, Command: []string{"x"}, When: schema.JobFirstCreate, Phase: phase,
		Timeout: schema.Duration(time.Minute)}
}

// A failing before job fails its app with its log's tail: no container
// is made, its dependent is skipped, other apps converge.
func TestFailingBeforeJobCreatesNothing(t *testing.T) {
	var log strings.Builder
	for i := 1; i <= 15; i++ {
		log.WriteString("line " + string(rune('a'+i)) + "\n")
	}
	h := newHarness(t, jobApp("lnd", oneJob("init", schema.JobBefore)), testApp("ui", "lnd"), testApp("other"))
	h.rt.SetJob("lnd-job-init", 2, log.String(), false)
	_, rep := h.apply(t, PlanOptions{})
	failed := rep.Failed()
	if len(failed) != 1 || failed[0].App != "lnd" {
		t.Fatalf("failed = %+v", failed)
	}
	var je *JobError
	if msg := failed[0].Err.Error(); !errors.As(failed[0].Err, &je) || je.Job != "init" ||
		!strings.Contains(msg, "exited 2") || !strings.Contains(msg, "line p") || strings.Contains(msg, "line f\n") {
		t.Errorf("error %q: want job init, exit 2, the last 10 lines", msg)
	}
	if slices.Contains(h.rt.Calls(), "create lnd") {
		t.Errorf("lnd created: %v", h.rt.Calls())
	}
	for _, o := range rep.Outcomes {
		if o.App == "ui" && o.Skipped != "dependency lnd failed" {
			t.Errorf("ui: %+v", o)
		}
	}
	if slices.Contains(h.rt.ContainerNames(), "lnd-job-init") {
		t.Error("job container left behind")
	}
	if b, err := os.ReadFile(filepath.Join(h.node.State.Dir, "jobs", "lnd", "init.log")); err != nil || string(b) != log.String() {
		t.Errorf("kept log %q, %v", b, err)
	}
	// Fixed: it converges, and then nothing is due.
	h.rt.SetJob("lnd-job-init", 0, "", false)
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if p, _ := h.apply(t, PlanOptions{}); p.Plan.Changes() != 0 {
		t.Errorf("plan after success: %+v", p.Plan.Steps)
	}
}

// An after-healthy job runs after the app started; its dependent is
// created only once the job succeeded.
func TestAfterHealthyJobBeforeDependents(t *testing.T) {
	h := newHarness(t, jobApp("lnd", oneJob("wallet", schema.JobAfterHealthy)), testApp("ui", "lnd"))
	h.rt.SetJob("lnd-job-wallet", 0, "ok\n", false)
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	calls := h.rt.Calls()
	pos := func(c string) int { return slices.Index(calls, c) }
	if !(pos("start lnd") < pos("create lnd-job-wallet") && pos("remove lnd-job-wallet") < pos("create ui")) {
		t.Errorf("order: %v", calls)
	}
}

// A job still running at its timeout is stopped (with the app's stop
// timeout) and has failed.
func TestJobTimeout(t *testing.T) {
	j := oneJob("hang", schema.JobBefore)
	j.Timeout = schema.Duration(50 * time.Millisecond)
	h := newHarness(t, jobApp("lnd", j))
	h.rt.SetJob("lnd-job-hang", 0, "", true)
	_, rep := h.apply(t, PlanOptions{})
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "job hang: still running after its 50ms timeout") {
		t.Fatalf("err = %v", err)
	}
	if !slices.Contains(h.rt.StopTimeouts(), "lnd-job-hang "+StopTimeout(h.cat.Apps["lnd"]).String()) {
		t.Errorf("stops: %v", h.rt.StopTimeouts())
	}
}

// Jobs' secrets count as the app's: a missing one blocks the app, and
// archy secrets lists the job as a consumer.
func TestJobSecretsBlockAndAreListed(t *testing.T) {
	j := oneJob("wallet", schema.JobAfterHealthy)
	j.Secrets = []schema.Secret{{Name: "lnd-wallet-password", Env: "PW"}}
	h := newHarness(t, jobApp("lnd", j))
	p, rep := h.apply(t, PlanOptions{})
	if s := p.Plan.Steps[0]; !strings.Contains(s.Blocked, "lnd-wallet-password") || rep.Err() == nil {
		t.Errorf("step %+v, err %v: want lnd blocked on its job's secret", s, rep.Err())
	}
	h.cat.Secrets = map[string]*schema.SecretGen{"lnd-wallet-password": {Name: "lnd-wallet-password", Type: schema.GenRandom}}
	list, err := GeneratedSecrets(t.Context(), h.rt, h.cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !slices.Equal(list[0].Consumers, []string{"lnd (job wallet)"}) {
		t.Errorf("secrets list %+v", list)
	}
}

// A job's every-upgrade runs on a replacement, not on a restart; an
// every-start one on both.
func TestJobsOfRestartAndUpgrade(t *testing.T) {
	up, start := oneJob("up", schema.JobBefore), oneJob("st", schema.JobBefore)
	up.When, start.When = schema.JobEveryUpgrade, schema.JobEveryStart
	h := newHarness(t, jobApp("lnd", up, start))
	h.rt.SetJob("lnd-job-up", 0, "", false)
	h.rt.SetJob("lnd-job-st", 0, "", false)
	if _, rep := h.apply(t, PlanOptions{}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	runs := func(job string) int {
		n := 0
		for _, c := range h.rt.Calls() {
			if c == "create lnd-job-"+job {
				n++
			}
		}
		return n
	}
	if runs("up") != 1 || runs("st") != 1 {
		t.Fatalf("first apply: %v", h.rt.Calls())
	}
	if err := h.node.Restart(t.Context(), h.cat, "lnd", h.node.Applier(nil)); err != nil {
		t.Fatal(err)
	}
	if runs("up") != 1 || runs("st") != 2 {
		t.Errorf("after restart: up %d, st %d", runs("up"), runs("st"))
	}
	if _, err := h.node.Upgrade(t.Context(), h.cat, "lnd", h.node.Applier(nil)); err != nil {
		t.Fatal(err)
	}
	if runs("up") != 2 || runs("st") != 3 {
		t.Errorf("after upgrade: up %d, st %d: %v", runs("up"), runs("st"), h.rt.Calls())
	}
}
