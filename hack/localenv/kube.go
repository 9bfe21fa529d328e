package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/devoidc"
	"github.com/bindery-dev/bindery/test/servers"
)

// The Kube -> Kube part of the quickstart: the Service the backend offers, and where the
// konnector keeps its credentials in the consumer cluster.
const (
	serviceName        = "databases"
	konnectorNamespace = "bindery-system"
	// kubePublishedResourceLabel marks the PublishedResources of bindery-backend's Services; the
	// syncagent leaves them to the backend.
	kubePublishedResourceLabel = "bind.bindery.dev/service"
	// teamBackendClient is team-a's backend's client ID at the first backend's issuer.
	teamBackendClient = "team-a-backend"
)

// The development issuer's users: alice may bind the Service (examples/quickstart/kube/rbac.yaml),
// bob may sign in but not bind.
var devUserNames = []string{"alice", "bob"}

// startBackend offers the Databases to Kubernetes clusters: the bind API's CRDs, the Service, its
// PublishedResource and who may bind it in the provider cluster; then bindery-backend with its
// development issuer, whose users get passwords of their own on the first start.
func (e *environment) startBackend(ctx context.Context, opts options) error {
	cfg := e.provider.Config()
	crds, err := filepath.Glob("deploy/crd/bind.bindery.dev_*.yaml")
	if err != nil || len(crds) == 0 {
		return fmt.Errorf("the bind API's CRDs in deploy/crd (run from the repository's root): %v", err)
	}
	if err := applyFiles(ctx, cfg, crds...); err != nil {
		return err
	}
	if err := ensureNamespace(ctx, e.provider, konnectorNamespace); err != nil { // the backend's session key
		return err
	}
	if err := applyFiles(ctx, cfg, "examples/quickstart/kube/publishedresource.yaml", "examples/quickstart/kube/service.yaml", "examples/quickstart/kube/rbac.yaml"); err != nil {
		return err
	}
	if e.users, err = ensureUsers(e.state.backendUsers()); err != nil {
		return err
	}
	// team-a's backend signs people in at this backend's issuer, as a client of its own.
	teamSecret, err := ensureSecretFile(e.state.teamClientSecret())
	if err != nil {
		return err
	}
	e.teamBackendURL = fmt.Sprintf("http://127.0.0.1:%d", opts.teamBackendPort)
	e.backendURL = fmt.Sprintf("http://127.0.0.1:%d", opts.backendPort)
	if err := e.start("bindery-backend",
		"--dev-oidc-extra-client", teamBackendClient+":"+teamSecret+":"+e.teamBackendURL+"/callback",
		"--kubeconfig", e.state.providerKubeconfig(),
		"--listen-address", fmt.Sprintf("127.0.0.1:%d", opts.backendPort),
		"--title", "Example databases",
		"--dev-oidc", "--dev-oidc-address", fmt.Sprintf("127.0.0.1:%d", opts.issuerPort),
		"--dev-oidc-users-file", e.state.backendUsers(), "--dev-oidc-state-dir", e.state.issuerDir(),
		"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0"); err != nil {
		return err
	}
	if err := e.waitForBackend(ctx, e.backendURL); err != nil {
		return err
	}
	if err := e.waitForService(ctx, cfg); err != nil {
		return err
	}
	return os.WriteFile(e.state.backendURLFile(), []byte(e.backendURL+"\n"), 0o644)
}

// startTeamBackend extends root:team-a into team-a's own clusters: the bind API's and the
// PublishedResource's CRDs, a PublishedResource over the Databases the workspace binds, the
// Service and who may bind it, in the workspace; then a bindery-backend serving the workspace,
// signing people in at the first backend's issuer.
func (e *environment) startTeamBackend(ctx context.Context, opts options) error {
	cfg := e.workspaceConfig("root:team-a")
	crds, err := filepath.Glob("deploy/crd/bind.bindery.dev_*.yaml")
	if err != nil {
		return err
	}
	if err := applyFiles(ctx, cfg, append(crds, "deploy/crd/syncagent.bindery.dev_publishedresources.yaml")...); err != nil {
		return err
	}
	if err := ensureNamespace(ctx, workspace{cfg}, konnectorNamespace); err != nil {
		return err
	}
	if err := applyFiles(ctx, cfg, "examples/quickstart/team/publishedresource.yaml", "examples/quickstart/team/service.yaml", "examples/quickstart/team/rbac.yaml"); err != nil {
		return err
	}
	if err := e.startAs("bindery-backend-team-a", "bindery-backend",
		"--kcp-kubeconfig", e.state.kubeconfig("team-a"),
		"--listen-address", fmt.Sprintf("127.0.0.1:%d", opts.teamBackendPort),
		"--title", "team-a",
		"--oidc-issuer-url", fmt.Sprintf("https://127.0.0.1:%d", opts.issuerPort), "--oidc-client-id", teamBackendClient,
		"--oidc-client-secret-file", e.state.teamClientSecret(), "--oidc-ca-file", filepath.Join(e.state.issuerDir(), "ca.crt"),
		"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0"); err != nil {
		return err
	}
	if err := e.waitForBackend(ctx, e.teamBackendURL); err != nil {
		return err
	}
	if err := e.waitForService(ctx, cfg); err != nil {
		return err
	}
	return os.WriteFile(e.state.teamBackendURLFile(), []byte(e.teamBackendURL+"\n"), 0o644)
}

// waitForBackend waits until a bindery-backend answers its health check.
func (e *environment) waitForBackend(ctx context.Context, url string) error {
	return e.waitFor(ctx, "bindery-backend to serve "+url, func(ctx context.Context) (bool, string, error) {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
}

// waitForService waits until the backend has checked the Service and found it bindable.
func (e *environment) waitForService(ctx context.Context, cfg *rest.Config) error {
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	return e.waitFor(ctx, "Service "+serviceName+" to be Ready", func(ctx context.Context) (bool, string, error) {
		svc := &bindv1alpha1.Service{}
		if err := c.Get(ctx, client.ObjectKey{Name: serviceName}, svc); err != nil {
			return false, "", err
		}
		ready := meta.FindStatusCondition(svc.Status.Conditions, bindv1alpha1.ServiceConditionReady)
		if ready == nil || ready.ObservedGeneration != svc.Generation {
			return false, "not checked yet", nil
		}
		return ready.Status == metav1.ConditionTrue, ready.Reason + ": " + ready.Message, nil
	})
}

// startKonnector installs the ServiceBinding CRD into a cluster, as the konnector's chart does, and
// runs bindery-konnector against it under name. It runs as the cluster's admin here; in a real
// cluster `kubectl bindery bind` or the chart installs it with a ClusterRole of exactly the
// received resources (docs/konnector.md).
func (e *environment) startKonnector(ctx context.Context, name string, cluster *servers.Kube, kubeconfig string) error {
	if err := applyFiles(ctx, cluster.Config(), "deploy/crd/bind.bindery.dev_servicebindings.yaml"); err != nil {
		return err
	}
	if err := ensureNamespace(ctx, cluster, konnectorNamespace); err != nil {
		return err
	}
	return e.startAs(name, "bindery-konnector",
		"--kubeconfig", kubeconfig, "--namespace", konnectorNamespace,
		"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0")
}

// ensureUsers returns the development issuer's users from path, or writes new ones with random
// passwords there (readable by the owner only) on the first start.
func ensureUsers(path string) ([]devoidc.User, error) {
	if _, err := os.Stat(path); err == nil {
		return devoidc.LoadUsers(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	users := make([]devoidc.User, 0, len(devUserNames))
	for _, name := range devUserNames {
		password, err := randomPassword()
		if err != nil {
			return nil, err
		}
		users = append(users, devoidc.User{Username: name, Password: password, Email: name + "@example.com"})
	}
	data, err := yaml.Marshal(users)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return users, os.WriteFile(path, data, 0o600)
}

// randomPassword is 16 characters of lower-case base32: easy to type, 80 bits.
func randomPassword() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b)), nil
}

// workspace is a kcp workspace where ensureNamespace wants a cluster.
type workspace struct{ cfg *rest.Config }

func (w workspace) Config() *rest.Config { return w.cfg }

// ensureSecretFile returns the secret in path, or writes a new random one there.
func ensureSecretFile(path string) (string, error) {
	if data, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(data)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	secret, err := randomPassword()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return secret, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}

func ensureNamespace(ctx context.Context, cluster interface{ Config() *rest.Config }, name string) error {
	c, err := newClient(cluster.Config())
	if err != nil {
		return err
	}
	err = c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
