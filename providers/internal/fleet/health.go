package fleet

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// EndpointHealth is what the last probe of an endpoint found.
type EndpointHealth struct {
	// URL is the endpoint (a shard's virtual workspace or base URL).
	URL string
	// Reachable is true while the endpoint answers at all, with data or with an API error.
	Reachable bool
	// Err is the last probe's error: a transport error or timeout when not Reachable, an API
	// error (a missing permission, a kind not served yet) otherwise; nil when the probe listed.
	Err error
	// Since is when the endpoint last changed between answering and not, or first was probed.
	Since time.Time
	// Clusters is how many logical clusters are engaged through the endpoint.
	Clusters int
}

// Healthy reports whether the last probe listed the watched kind.
func (h EndpointHealth) Healthy() bool { return h.Reachable && h.Err == nil }

// probeLoop probes the endpoint every HealthInterval until ctx ends, recording the result and
// telling OnHealthChange when it changes.
func (ep *endpoint) probeLoop(ctx context.Context) {
	opts := ep.engine.opts
	for {
		probeCtx, cancel := context.WithTimeout(ctx, opts.HealthTimeout)
		err := ep.cache.Probe(probeCtx, opts.ObjectToWatch)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if ep.record(err) && opts.OnHealthChange != nil {
			opts.OnHealthChange()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(opts.HealthInterval):
		}
	}
}

// record stores a probe's result and reports whether the endpoint's health changed.
func (ep *endpoint) record(err error) bool {
	reachable := err == nil || answered(err)
	e := ep.engine
	e.mu.Lock()
	defer e.mu.Unlock()
	prev := ep.health
	changed := !ep.probed || prev.Reachable != reachable || (prev.Err == nil) != (err == nil)
	if !ep.probed || prev.Reachable != reachable {
		ep.health.Since = time.Now()
	}
	ep.probed = true
	ep.health.Reachable, ep.health.Err = reachable, err
	if changed {
		if reachable {
			e.opts.Log.Info("endpoint answers", "url", ep.url, "error", errString(err))
		} else {
			e.opts.Log.Info("endpoint does not answer; its clusters stay engaged and catch up when it is back", "url", ep.url, "error", errString(err))
		}
	}
	return changed
}

// answered reports whether an error came from the server (an API status, or discovery not
// knowing the kind) rather than from reaching it.
func answered(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) || meta.IsNoMatchError(err)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// EndpointHealth returns the health of every endpoint probed so far, by URL.
func (e *Engine) EndpointHealth() []EndpointHealth {
	e.mu.RLock()
	defer e.mu.RUnlock()
	clusters := map[*endpoint]int{}
	for _, ec := range e.engaged {
		clusters[ec.endpoint]++
	}
	var out []EndpointHealth
	for _, ep := range e.endpoints {
		if !ep.probed {
			continue
		}
		h := ep.health
		h.URL, h.Clusters = ep.url, clusters[ep]
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b EndpointHealth) int { return strings.Compare(a.URL, b.URL) })
	return out
}
