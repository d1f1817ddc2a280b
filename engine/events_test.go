package engine

import (
	"fmt"
	"testing"
)

// The ring keeps the last RingSize events, oldest first, across its wrap.
func TestBusRing(t *testing.T) {
	var b Bus
	for i := range RingSize + 10 {
		b.Publish(Event{Type: EventStep, Message: fmt.Sprint(i)})
	}
	all, _, stop := b.SubscribeFrom(Replay{LastID: "0-0"}) // another run's id: all kept
	stop()
	if len(all) != RingSize || all[0].Message != "10" || all[RingSize-1].Message != fmt.Sprint(RingSize+9) {
		t.Fatalf("kept %d events, %q to %q; want %d, 10 to %d", len(all), all[0].Message, all[len(all)-1].Message, RingSize, RingSize+9)
	}
	after, _, stop := b.SubscribeFrom(Replay{LastID: all[RingSize-3].ID})
	stop()
	if len(after) != 2 || after[0].ID != all[RingSize-2].ID {
		t.Fatalf("after %s: %v", all[RingSize-3].ID, after)
	}
}
