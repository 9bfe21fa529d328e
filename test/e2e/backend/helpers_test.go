package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindclient"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/test/framework"
)

// user is an account of the embedded issuer.
type user = framework.DevUser

var (
	alice = user{Name: "alice", Password: "alice-password"}
	bob   = user{Name: "bob", Password: "bob-password"}
	carol = user{Name: "carol", Password: "carol-password"}
)

const devUsers = "alice:alice-password:developers,bob:bob-password,carol:carol-password"

// backendProcess is a running bindery-backend.
type backendProcess struct {
	url  string
	args []string
	proc *framework.Process
}

// startBackend starts bindery-backend with the embedded issuer against the provider cluster.
func startBackend(t *testing.T, extraArgs ...string) *backendProcess {
	t.Helper()
	listen, err := freeAddress()
	if err != nil {
		t.Fatal(err)
	}
	return startBackendOn(t, provider.Config(), listen, append([]string{
		"--dev-oidc", "--dev-oidc-address", issuerAddress, "--dev-oidc-users", devUsers,
		"--dev-oidc-state-dir", issuerStateDir,
		"--dev-oidc-extra-client", kubectlClientID + ":" + kubectlClientSecret + ":" + tokenCatcher.URL(),
	}, extraArgs...)...)
}

// startBackendOn starts bindery-backend for a provider cluster, listening at listen, with the
// issuer given by args.
func startBackendOn(t *testing.T, providerConfig *rest.Config, listen string, args ...string) *backendProcess {
	t.Helper()
	// The namespace of the session key Secret, as the chart creates it.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bindery-system"}}
	if err := framework.NewClient(t, providerConfig).Create(framework.Context(t), ns); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	b := &backendProcess{url: "http://" + listen, args: append([]string{
		"--kubeconfig", framework.WriteKubeconfig(t, "provider", providerConfig),
		"--listen-address", listen,
		"--title", "Example databases",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
	}, args...)}
	b.start(t)
	return b
}

func (b *backendProcess) start(t *testing.T) {
	t.Helper()
	b.proc = framework.StartProcess(t, "bindery-backend", framework.Binary(t, "./cmd/bindery-backend"), b.args...)
	framework.WaitFor(t, time.Minute, "bindery-backend to serve", func(context.Context) (bool, string, error) {
		resp, err := http.Get(b.url + "/healthz")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
}

// restart kills the backend as a crash would and starts it again with the same flags.
func (b *backendProcess) restart(t *testing.T) {
	t.Helper()
	b.proc.Kill()
	b.start(t)
}

// signIn completes a kubectl bindery style login for u in browser, picking the Service pick
// (if set) after onPickPage has looked at the page (framework.SignIn).
func signIn(t *testing.T, browser context.Context, backendURL string, u user, pick string, onPickPage func(context.Context)) *bindprotocol.Session {
	t.Helper()
	return framework.SignIn(t, browser, backendURL, u.Name, u.Password, pick, onPickPage)
}

// enterCredentials fills in the issuer's login form.
func enterCredentials(t *testing.T, ctx context.Context, u user) {
	t.Helper()
	framework.EnterCredentials(t, ctx, u.Name, u.Password)
}

func act(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	framework.Act(t, ctx, steps...)
}

// text returns the text of the element with the id, or fails the test.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("reading #%s: %v", id, err)
	}
	return s
}

// present says whether the page has an element with the id, without waiting for one.
func present(t *testing.T, ctx context.Context, id string) bool {
	t.Helper()
	found, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.getElementById("+quote(id)+") !== null"))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func quote(s string) string { return "'" + s + "'" }

// apiClient is the backend's JSON API as u's session sees it.
func apiClient(t *testing.T, backendURL string, session *bindprotocol.Session) *bindclient.Client {
	t.Helper()
	c, err := bindclient.NewClient(backendURL, session, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apiError returns the backend's refusal in err, or fails the test.
func apiError(t *testing.T, err error, what string) *bindclient.APIError {
	t.Helper()
	var apiErr *bindclient.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s: got %v, want a refusal of the backend", what, err)
	}
	return apiErr
}

// provisioning is what a test offers on the provider cluster.
type provisioning struct {
	t     *testing.T
	ctx   context.Context
	admin client.Client
}

func newProvisioning(t *testing.T) *provisioning { return newProvisioningOn(t, provider.Config()) }

// newProvisioningOn works with another provider cluster than the suite's.
func newProvisioningOn(t *testing.T, cfg *rest.Config) *provisioning {
	return &provisioning{t: t, ctx: framework.Context(t), admin: framework.NewClient(t, cfg)}
}

// create creates obj and deletes it when the test ends.
func (p *provisioning) create(obj client.Object) {
	p.t.Helper()
	if err := p.admin.Create(p.ctx, obj); err != nil {
		p.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
	p.t.Cleanup(func() { _ = p.admin.Delete(context.Background(), obj) })
}

// databases publishes the example Database CRD with its credentials Secret under a group of the
// test's own and offers it as a Service, Ready before it returns.
func (p *provisioning) databases() *bindv1alpha1.Service {
	p.t.Helper()
	return p.databasesAs("")
}

// databasesAs publishes the Databases under the consumer-facing group, by default one of the
// test's own.
func (p *provisioning) databasesAs(group string) *bindv1alpha1.Service {
	p.t.Helper()
	label := framework.UniqueName("svc")
	if group == "" {
		group = label + ".consumer.example"
	}
	p.create(&syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: label, Labels: map[string]string{"e2e.bindery.dev/service": label}},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: "db.provider.example", Kind: "Database"},
			Projection: &syncagentv1alpha1.Projection{Group: group},
			Related: []syncagentv1alpha1.RelatedResource{{
				Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets",
				Object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{Name: "{{ .Object.metadata.name }}-credentials"}},
			}},
		},
	})
	return p.service(label, "PostgreSQL databases")
}

// service offers the PublishedResources labelled label and waits until the backend has checked it.
func (p *provisioning) service(label, title string) *bindv1alpha1.Service {
	p.t.Helper()
	svc := &bindv1alpha1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: framework.UniqueName("svc")},
		Spec: bindv1alpha1.ServiceSpec{Title: title, Description: "Managed by the provider's operator.",
			PublishedResources: metav1.LabelSelector{MatchLabels: map[string]string{"e2e.bindery.dev/service": label}}},
	}
	p.create(svc)
	return svc
}

// waitChecked waits until the backend has written the Service's Ready condition, to status.
func (p *provisioning) waitChecked(svc *bindv1alpha1.Service, status metav1.ConditionStatus) {
	p.t.Helper()
	framework.WaitFor(p.t, time.Minute, "Service "+svc.Name+" to be checked", func(ctx context.Context) (bool, string, error) {
		if err := p.admin.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return false, "", err
		}
		ready := meta.FindStatusCondition(svc.Status.Conditions, bindv1alpha1.ServiceConditionReady)
		if ready == nil || ready.ObservedGeneration != svc.Generation {
			return false, "not checked yet", nil
		}
		return ready.Status == status, ready.Reason + ": " + ready.Message, nil
	})
}

// grantBind lets username bind the named Services, with the RBAC a provider would write.
func (p *provisioning) grantBind(username string, services ...string) {
	p.t.Helper()
	name := framework.UniqueName("bind")
	p.create(&rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{bindv1alpha1.GroupVersion.Group}, Resources: []string{"services"}, Verbs: []string{"bind"}, ResourceNames: services}},
	})
	p.create(&rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: username}},
	})
}

// consumersOf lists the Consumers of a consumer cluster ID.
func (p *provisioning) consumersOf(clusterID string) []bindv1alpha1.Consumer {
	p.t.Helper()
	var list bindv1alpha1.ConsumerList
	if err := p.admin.List(p.ctx, &list); err != nil {
		p.t.Fatal(err)
	}
	var out []bindv1alpha1.Consumer
	for _, c := range list.Items {
		if c.Spec.Cluster.ID == clusterID {
			out = append(out, c)
		}
	}
	return out
}

// codeCatcher is the loopback callback of the test's own client at the issuer.
type codeCatcher struct {
	listener net.Listener
	codes    chan string
}

func startCodeCatcher() (*codeCatcher, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &codeCatcher{listener: l, codes: make(chan string, 4)}
	go func() {
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.codes <- r.URL.Query().Get("code")
			_, _ = w.Write([]byte("code received"))
		}))
	}()
	return c, nil
}

func (c *codeCatcher) URL() string { return "http://" + c.listener.Addr().String() + "/callback" }
func (c *codeCatcher) Close()      { _ = c.listener.Close() }

// issuerHTTPClient trusts the embedded issuer's CA.
func issuerHTTPClient(t *testing.T) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(issuerStateDir, "ca.crt"))
	if err != nil {
		t.Fatalf("the backend wrote no issuer CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
}
