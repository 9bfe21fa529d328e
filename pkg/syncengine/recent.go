package syncengine

import (
	"sync"
	"time"
)

// recentTTL is how long the engine trusts its own memory of a create over a cache that does not
// show the copy yet: far longer than a watch event takes, far shorter than anything a person waits
// for. After a restart nothing is remembered, and the fresh cache has the copy.
const recentTTL = 10 * time.Second

// recentCreates remembers the copies the engine created in the last recentTTL. A pass that runs
// before the destination cache has seen its own create (another event of the same object, a
// moment later) would otherwise create the copy again: the create fails (AlreadyExists), but the
// destination's ResourceQuota admission has counted it by then, and the quota stays charged for
// an object that does not exist until kube-controller-manager recounts, minutes later; a
// Consumer capped at 10 would be refused its 6th object. It is a hint, never the truth: a copy
// is found by its marks, and a create still fails on anything that is there.
type recentCreates struct {
	mu      sync.Mutex
	created map[Source]time.Time
}

// add remembers that the copy of source was created now.
func (r *recentCreates) add(source Source, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.created == nil {
		r.created = map[Source]time.Time{}
	}
	for s, at := range r.created {
		if now.Sub(at) >= recentTTL {
			delete(r.created, s)
		}
	}
	r.created[source] = now
}

// has reports whether the copy of source was created less than recentTTL before now.
func (r *recentCreates) has(source Source, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.created[source]
	return ok && now.Sub(at) < recentTTL
}

// forget drops source: its copy is in the cache, or gone.
func (r *recentCreates) forget(source Source) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.created, source)
}
