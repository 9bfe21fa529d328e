package exampleoperator

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
	"github.com/bindery-dev/bindery/examples/database-operator/config"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// operatorUser is the ServiceAccount that config/rbac.yaml grants the operator's permissions to.
const (
	operatorNamespace = "database-operator-system"
	operatorUser      = "system:serviceaccount:" + operatorNamespace + ":database-operator"
)

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(dbv1alpha1.AddToScheme(s))
	return s
}()

func newClient(t *testing.T, cfg *rest.Config) client.Client {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 100, 200 // tests poll
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// operator is a running database-operator process.
type operator struct {
	*framework.Process
	probeURL string
}

// startOperator applies config/rbac.yaml and starts the operator binary as its ServiceAccount,
// with leader election and health probes on, as a Deployment would run it.
func startOperator(t *testing.T, kube *servers.Kube) *operator {
	t.Helper()
	applyManifests(t, newClient(t, kube.Config()), config.RBAC)
	port, err := servers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	probeAddress := fmt.Sprintf("127.0.0.1:%d", port)
	bin := framework.Binary(t, "./examples/database-operator")
	p := framework.StartProcess(t, "database-operator", bin,
		"--kubeconfig", impersonatingKubeconfig(t, kube.Config(), operatorUser),
		"--leader-elect", "--leader-election-namespace", operatorNamespace,
		"--health-probe-bind-address", probeAddress,
		"--zap-log-level", "debug")
	return &operator{Process: p, probeURL: "http://" + probeAddress}
}

// impersonatingKubeconfig writes a kubeconfig that uses cfg's admin credentials to act as user:
// the API server authorizes every request as user, with only user's RBAC.
func impersonatingKubeconfig(t *testing.T, cfg *rest.Config, user string) string {
	t.Helper()
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["kube"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kubeconfig.AuthInfos["operator"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
		Impersonate: user,
	}
	kubeconfig.Contexts["operator"] = &clientcmdapi.Context{Cluster: "kube", AuthInfo: "operator"}
	kubeconfig.CurrentContext = "operator"
	path := filepath.Join(t.TempDir(), "operator.kubeconfig")
	if err := clientcmd.WriteToFile(*kubeconfig, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// applyManifests creates the objects of a multi-document YAML file.
func applyManifests(t *testing.T, c client.Client, manifests []byte) {
	t.Helper()
	for doc := range strings.SplitSeq(string(manifests), "\n---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatalf("decoding manifest: %v", err)
		}
		if err := c.Create(framework.Context(t), obj); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}

// sampleDatabase returns config/sample.yaml's Database, in namespace.
func sampleDatabase(t *testing.T, namespace string) *dbv1alpha1.Database {
	t.Helper()
	db := &dbv1alpha1.Database{}
	if err := yaml.UnmarshalStrict(config.Sample, db); err != nil {
		t.Fatalf("decoding sample.yaml: %v", err)
	}
	db.Namespace = namespace
	return db
}

// waitReady waits until the operator reports db Ready for its current generation.
func waitReady(t *testing.T, c client.Client, db *dbv1alpha1.Database) *dbv1alpha1.Database {
	t.Helper()
	got := &dbv1alpha1.Database{}
	framework.WaitFor(t, time.Minute, fmt.Sprintf("Database %s to be Ready", db.Name), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(db), got); err != nil {
			return false, "", err
		}
		ready := meta.FindStatusCondition(got.Status.Conditions, dbv1alpha1.ConditionReady)
		detail := fmt.Sprintf("generation %d, status %+v", got.Generation, got.Status)
		return ready != nil && ready.Status == metav1.ConditionTrue && got.Status.Phase == dbv1alpha1.PhaseReady &&
			got.Status.ObservedGeneration == got.Generation && ready.ObservedGeneration == got.Generation, detail, nil
	})
	return got
}

// waitGone waits until obj no longer exists.
func waitGone(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	what := fmt.Sprintf("%T %s to be deleted", obj, obj.GetName())
	framework.WaitFor(t, time.Minute, what, func(ctx context.Context) (bool, string, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if client.IgnoreNotFound(err) != nil {
			return false, "", err
		}
		return err != nil, fmt.Sprintf("finalizers %v, deletionTimestamp %v", obj.GetFinalizers(), obj.GetDeletionTimestamp()), nil
	})
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, url+" to answer 200", func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, "", err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
}
