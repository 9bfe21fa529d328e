package framework

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
)

// Context returns a context that is cancelled when the test ends.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// Condition reports whether what a test waits for is true; detail says what it saw instead, and an
// error is treated as "not yet" (servers answer with errors while things settle).
type Condition func(ctx context.Context) (done bool, detail string, err error)

// WaitFor polls cond every 100 ms until it is true and fails the test after timeout, naming
// what it waited for and the last detail or error it saw.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond Condition) {
	t.Helper()
	var lastDetail string
	var lastErr error
	err := wait.PollUntilContextTimeout(Context(t), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		done, detail, err := cond(ctx)
		// A poll cut short by the deadline says nothing new: keep what the last one saw.
		if err == nil || detail != "" {
			lastDetail = detail
		}
		lastErr = err
		return err == nil && done, nil
	})
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s (last seen: %q, last error: %v)", timeout, what, lastDetail, lastErr)
	}
}

// CreateWhenServed creates obj, retrying while its API is not served yet: an Established CRD or a
// Bound APIBinding reaches discovery a moment later, and a busy kcp answers discovery with 503
// for a moment.
func CreateWhenServed(t testing.TB, c ctrlclient.Client, obj ctrlclient.Object) {
	t.Helper()
	what := fmt.Sprintf("%s %s to be created", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName())
	WaitFor(t, time.Minute, what, func(ctx context.Context) (bool, string, error) {
		err := c.Create(ctx, obj)
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err) {
			return false, err.Error(), nil
		}
		if err != nil {
			t.Fatalf("creating %s: %v", obj.GetName(), err)
		}
		return true, "", nil
	})
}

// HoldsFor checks that cond holds at every poll for the whole of d: a state that must not flap.
// A poll that fails with an error is not counted (the API server may be busy), but at least one
// must succeed.
func HoldsFor(t testing.TB, d time.Duration, what string, cond Condition) {
	t.Helper()
	ctx, cancel := context.WithTimeout(Context(t), d)
	defer cancel()
	observed := 0
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		ok, detail, err := cond(ctx)
		switch {
		case err == nil && !ok:
			t.Fatalf("%s stopped holding after %d observations: %s", what, observed, detail)
		case err == nil:
			observed++
		}
		select {
		case <-ctx.Done():
			if observed == 0 {
				t.Fatalf("%s: no successful observation in %s (last error: %v)", what, d, err)
			}
			return
		case <-ticker.C:
		}
	}
}

// WaitReady waits until obj, read again with c, has a Ready condition of status True;
// conditions returns obj's conditions.
func WaitReady(t testing.TB, c ctrlclient.Client, obj ctrlclient.Object, conditions func() []metav1.Condition) {
	t.Helper()
	WaitFor(t, 2*time.Minute, fmt.Sprintf("%T %s to be Ready", obj, obj.GetName()), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, ctrlclient.ObjectKeyFromObject(obj), obj); err != nil {
			return false, "", err
		}
		if ready := meta.FindStatusCondition(conditions(), "Ready"); ready != nil {
			return ready.Status == metav1.ConditionTrue, ready.Reason + ": " + ready.Message, nil
		}
		return false, "no Ready condition", nil
	})
}
