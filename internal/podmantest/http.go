package podmantest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// WaitForHTTP GETs url until it answers 200 with a body containing marker,
// or until timeout. It returns how long that took, which chaos tests report
// as recovery time. The error names the last failure seen.
func WaitForHTTP(ctx context.Context, url, marker string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		last = getMarker(ctx, client, url, marker)
		if last == nil {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("GET %s: no 200 with %q after %v: %w", url, marker, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func getMarker(ctx context.Context, client *http.Client, url, marker string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	if !strings.Contains(string(body), marker) {
		return fmt.Errorf("body lacks %q: %.200s", marker, body)
	}
	return nil
}
