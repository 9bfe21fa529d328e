package kcpbootstrap

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// fieldOwner is the server-side apply field manager of the manifests the tests apply, standing in
// for `kubectl apply --server-side` by an admin.
const fieldOwner = ctrlclient.FieldOwner("kcpbootstrap-e2e")

// manifest decodes a multi-document YAML file of the repository (e.g. deploy/kcp/catalog/...),
// skipping empty documents.
func manifest(t testing.TB, file string) []*unstructured.Unstructured {
	t.Helper()
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	objects, err := servers.ReadManifests(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	return objects
}

// apply server-side applies objects with c, in order, retrying while a kind is not served yet (a
// workspace that just turned Ready may not serve every API for a moment).
func apply(t testing.TB, c ctrlclient.Client, objects ...*unstructured.Unstructured) {
	t.Helper()
	for _, obj := range objects {
		what := fmt.Sprintf("%s %s to be applied", obj.GetKind(), obj.GetName())
		framework.WaitFor(t, time.Minute, what, func(ctx context.Context) (bool, string, error) {
			err := c.Apply(ctx, ctrlclient.ApplyConfigurationFromUnstructured(obj.DeepCopy()), fieldOwner, ctrlclient.ForceOwnership)
			if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				return false, err.Error(), nil
			}
			if err != nil {
				t.Fatalf("applying %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
			return true, "", nil
		})
	}
}

// waitForWorkspace waits until the workspace of the given name in the parent is Ready and returns
// it, like `kubectl wait workspace/<name> --for=jsonpath='{.status.phase}'=Ready`.
func waitForWorkspace(t testing.TB, parent ctrlclient.Client, name string) *tenancyv1alpha1.Workspace {
	t.Helper()
	ws := &tenancyv1alpha1.Workspace{}
	framework.WaitFor(t, time.Minute, "workspace "+name+" to be Ready", func(ctx context.Context) (bool, string, error) {
		if err := parent.Get(ctx, ctrlclient.ObjectKey{Name: name}, ws); err != nil {
			return false, "", err
		}
		return ws.Status.Phase == corev1alpha1.LogicalClusterPhaseReady && ws.Spec.Cluster != "",
			fmt.Sprintf("phase %q", ws.Status.Phase), nil
	})
	return ws
}

// impersonating returns cfg acting as the given user, the way a client certificate with CN=user
// or an OIDC token for user would authenticate. kcp adds system:authenticated to authenticated
// users, but to impersonated ones only when the impersonator asks for it.
//
// cfg must be the shard admin's (see shardAdmin): kcp scopes a user impersonated by anyone else,
// including kcp's workspace admin, to the one logical cluster of the request
// (authentication.kcp.io/scopes), and the APIExport virtual workspace lets only system:masters
// impersonate in a consumer's cluster. Impersonated by the shard admin, the user is what a real
// client certificate would be: unscoped, and authorized by RBAC alone.
func impersonating(cfg *rest.Config, user string) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	return cfg
}

// shardAdmin returns kcp's shard admin config (system:masters), addressed at the server root.
func shardAdmin(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := framework.KCP(t).ShardAdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// forCluster returns the server config cfg (whose host is the kcp server) addressed at a workspace.
func forCluster(cfg *rest.Config, path string) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Host += "/clusters/" + path
	return cfg
}

// expectForbidden fails the test unless err is a Forbidden error: what the identity tried must be
// refused by authorization, not fail for another reason.
func expectForbidden(t testing.TB, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: got %v, want Forbidden", what, err)
		return
	}
	t.Logf("%s: refused as expected", what)
}

// rule is a set of requests with the verbs a user should be allowed, and verbs it should not be.
type rule struct {
	group, resource, subresource string
	allowed, denied              []string
}

// checkAccess asks kcp's authorizer in a workspace, through SubjectAccessReviews made by the admin
// client c, whether user (with system:authenticated) may make each request of the rules, and
// reports every answer that differs from the expected one. It also checks "access" on "/", without
// which kcp lets the user into the workspace at all.
func checkAccess(t testing.TB, c ctrlclient.Client, user string, rules []rule) {
	t.Helper()
	ctx := framework.Context(t)
	ask := func(spec authorizationv1.SubjectAccessReviewSpec) *authorizationv1.SubjectAccessReview {
		spec.User, spec.Groups = user, []string{"system:authenticated"}
		review := &authorizationv1.SubjectAccessReview{Spec: spec}
		if err := c.Create(ctx, review); err != nil {
			t.Fatalf("SubjectAccessReview for %s: %v", user, err)
		}
		return review
	}
	if review := ask(authorizationv1.SubjectAccessReviewSpec{
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/", Verb: "access"},
	}); !review.Status.Allowed {
		t.Errorf("%s may not access the workspace (reason %q)", user, review.Status.Reason)
	}
	for _, r := range rules {
		what := r.resource
		if r.group != "" {
			what += "." + r.group
		}
		if r.subresource != "" {
			what += "/" + r.subresource
		}
		for _, verbs := range []struct {
			list []string
			want bool
		}{{r.allowed, true}, {r.denied, false}} {
			for _, verb := range verbs.list {
				review := ask(authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: verb, Group: r.group, Resource: r.resource, Subresource: r.subresource,
				}})
				if review.Status.Allowed != verbs.want {
					t.Errorf("%s may %s %s: allowed=%t, want %t (reason %q)", user, verb, what, review.Status.Allowed, verbs.want, review.Status.Reason)
				}
			}
		}
	}
}
