package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// fieldManager is the server-side apply field manager of everything the tests install, like helm's.
const fieldManager = "helm"

// chartPath returns the folder of a chart under deploy/charts, or of a file in it.
func chartPath(t testing.TB, chart string, elem ...string) string {
	t.Helper()
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(append([]string{root, "deploy", "charts", chart}, elem...)...)
}

// helmTemplate runs `helm template` with the pinned helm and returns the manifests it printed, or
// an error carrying helm's message. args are more helm flags, e.g. --values or --set.
func helmTemplate(t testing.TB, release, namespace, chart string, args ...string) ([]byte, error) {
	t.Helper()
	helm, err := servers.ToolPath("helm")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm, append([]string{"template", release, chartPath(t, chart),
		"--namespace", namespace, "--include-crds"}, args...)...)
	// Keep helm away from the user's helm configuration and repositories.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm template %s: %w: %s", chart, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// rendered is what `helm template` produced for one release: CRDs (from the chart's crds/) and
// everything else, in helm's order.
type rendered struct {
	release, namespace string
	crds               []*unstructured.Unstructured
	objects            []*unstructured.Unstructured
}

// render renders a chart and decodes its output; a chart that does not render fails the test.
func render(t testing.TB, release, namespace, chart string, args ...string) *rendered {
	t.Helper()
	out, err := helmTemplate(t, release, namespace, chart, args...)
	if err != nil {
		t.Fatal(err)
	}
	r := &rendered{release: release, namespace: namespace}
	for _, obj := range decodeYAML(t, out) {
		if obj.GetKind() == "CustomResourceDefinition" {
			r.crds = append(r.crds, obj)
		} else {
			r.objects = append(r.objects, obj)
		}
	}
	return r
}

// find returns the rendered object of a kind and name, or nil.
func (r *rendered) find(kind, name string) *unstructured.Unstructured {
	for _, obj := range append(append([]*unstructured.Unstructured{}, r.crds...), r.objects...) {
		if obj.GetKind() == kind && obj.GetName() == name {
			return obj
		}
	}
	return nil
}

// kinds lists the kinds of the rendered objects, in order, CRDs excluded.
func (r *rendered) kinds() []string {
	var kinds []string
	for _, obj := range r.objects {
		kinds = append(kinds, obj.GetKind())
	}
	return kinds
}

// decodeYAML splits a multi-document YAML stream into objects, skipping documents that hold only
// comments.
func decodeYAML(t testing.TB, data []byte) []*unstructured.Unstructured {
	t.Helper()
	objects, err := servers.DecodeManifests(data)
	if err != nil {
		t.Fatalf("decoding YAML: %v", err)
	}
	return objects
}

// decodeInto converts a rendered object into a typed one.
func decodeInto(t testing.TB, obj *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		t.Fatalf("converting %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
}

// cluster is a kube-apiserver the tests install charts into.
type cluster struct {
	config  *rest.Config
	client  ctrlclient.Client
	dynamic dynamic.Interface
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	kube := framework.StartKube(t)
	cfg := kube.Config()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{config: cfg, client: framework.NewClient(t, cfg), dynamic: dyn}
}

// apply server-side applies one object with strict field validation: a field the API does not
// know fails the request instead of being dropped with a warning.
func (c *cluster) apply(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := c.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return err
	}
	resource := c.dynamic.Resource(mapping.Resource)
	var ri dynamic.ResourceInterface = resource
	if obj.GetNamespace() != "" {
		ri = resource.Namespace(obj.GetNamespace())
	}
	force := true
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager: fieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict,
	})
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// install does what `helm install --create-namespace` does with the rendered chart: it creates the
// release namespace, applies the CRDs and waits until they are Established, then applies the rest.
// Namespaced objects the chart renders without a namespace land in the release namespace.
func (c *cluster) install(t testing.TB, r *rendered) {
	t.Helper()
	ctx := framework.Context(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.namespace}}
	if err := c.client.Create(ctx, ns); ctrlclient.IgnoreAlreadyExists(err) != nil {
		t.Fatalf("creating namespace %s: %v", r.namespace, err)
	}
	for _, crd := range r.crds {
		if err := c.apply(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}
	for _, crd := range r.crds {
		name := crd.GetName()
		framework.WaitFor(t, time.Minute, "CRD "+name+" to be Established", func(ctx context.Context) (bool, string, error) {
			got := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.client.Get(ctx, ctrlclient.ObjectKey{Name: name}, got); err != nil {
				return false, "", err
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established {
					return cond.Status == apiextensionsv1.ConditionTrue, cond.Reason + ": " + cond.Message, nil
				}
			}
			return false, "no Established condition yet", nil
		})
	}
	for _, obj := range r.objects {
		obj = obj.DeepCopy()
		if namespaced, err := c.client.IsObjectNamespaced(obj); err != nil {
			t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
		} else if namespaced && obj.GetNamespace() == "" {
			obj.SetNamespace(r.namespace)
		}
		if err := c.apply(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
}

// serviceAccountUser returns the user name and groups the API server gives a ServiceAccount's token.
func serviceAccountUser(namespace, name string) (string, []string) {
	return "system:serviceaccount:" + namespace + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

// access is one request a ServiceAccount may or may not make.
type access struct {
	verb, group, resource, subresource, namespace string
	// name is the object's name, for rules with resourceNames; empty is any.
	name    string
	allowed bool
}

func (a access) String() string {
	what := a.resource
	if a.group != "" {
		what += "." + a.group
	}
	if a.subresource != "" {
		what += "/" + a.subresource
	}
	if a.name != "" {
		what += " " + a.name
	}
	where := "cluster-wide"
	if a.namespace != "" {
		where = "in namespace " + a.namespace
	}
	return fmt.Sprintf("%s %s %s", a.verb, what, where)
}

// checkAccess asks the API server's authorizer, through SubjectAccessReviews, whether the
// ServiceAccount may make each request, and reports every answer that differs from the expected one.
func (c *cluster) checkAccess(t testing.TB, namespace, serviceAccount string, cases []access) {
	t.Helper()
	ctx := framework.Context(t)
	user, groups := serviceAccountUser(namespace, serviceAccount)
	for _, want := range cases {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: want.verb, Group: want.group, Resource: want.resource,
				Subresource: want.subresource, Namespace: want.namespace, Name: want.name,
			},
		}}
		if err := c.client.Create(ctx, review); err != nil {
			t.Fatalf("SubjectAccessReview for %s: %v", want, err)
		}
		if review.Status.Allowed != want.allowed {
			t.Errorf("%s may %s: allowed=%t, want %t (reason %q)", user, want, review.Status.Allowed, want.allowed, review.Status.Reason)
		}
	}
}

// impersonate returns a client that acts as the ServiceAccount, the way its token would.
func (c *cluster) impersonate(t testing.TB, namespace, serviceAccount string) ctrlclient.Client {
	t.Helper()
	cfg := rest.CopyConfig(c.config)
	user, groups := serviceAccountUser(namespace, serviceAccount)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return framework.NewClient(t, cfg)
}
