package consumers

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestKonnectorsView: the Consumer's namespace holds one BoundAPI per bound PublishedResource,
// which the Consumer's own credential can read (the CRD to install and how objects sync), and
// the konnector's heartbeat Lease, renewed with that credential, shows on the Consumer.
func TestKonnectorsView(t *testing.T) {
	startControllers(t)
	e := newEnv(t)
	_, consumer, resolved := e.bindDatabases()
	namespace := consumers.NamespaceName(consumer.Name)
	kubeconfig, _, err := e.provisioner.Credential(e.ctx, consumer, 0)
	if err != nil {
		t.Fatal(err)
	}
	konnector := e.clientFor(kubeconfig)

	var apis bindv1alpha1.BoundAPIList
	framework.WaitFor(t, 30*time.Second, "the BoundAPI in "+namespace, func(ctx context.Context) (bool, string, error) {
		err := konnector.List(ctx, &apis, client.InNamespace(namespace))
		return err == nil && len(apis.Items) == 1, errString(err), nil
	})
	api := apis.Items[0].Spec
	var crd apiextensionsv1.CustomResourceDefinition
	if err := json.Unmarshal(api.CRD.Raw, &crd); err != nil {
		t.Fatalf("the BoundAPI's CRD: %v", err)
	}
	want := resolved.Resources[0]
	if crd.Name != want.CRD.Name || api.ConsumerKind.Kind != "Database" || api.ConsumerKind.Group != want.Bound.Consumer.Group ||
		api.ProviderKind.Group != "databases.example.com" || api.ProviderKind.Resource != "databases" || !api.CopiesStatus ||
		len(api.Related) != 1 || api.Related[0].Identifier != "credentials" || api.SchemaHash == "" {
		t.Errorf("BoundAPI %+v (CRD %s), want the projected Database with its credentials", api, crd.Name)
	}

	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: consumers.LeaseName},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("konnector"), RenewTime: &metav1.MicroTime{Time: time.Now()}},
	}
	if err := konnector.Create(e.ctx, lease); err != nil {
		t.Fatalf("the konnector renews its heartbeat: %v", err)
	}
	framework.WaitFor(t, 30*time.Second, "the Consumer to show the heartbeat", func(ctx context.Context) (bool, string, error) {
		if err := e.admin.Get(ctx, client.ObjectKeyFromObject(consumer), consumer); err != nil {
			return false, "", err
		}
		connected := meta.FindStatusCondition(consumer.Status.Conditions, bindv1alpha1.ConsumerConditionKonnectorConnected)
		if connected == nil || consumer.Status.LastHeartbeatTime == nil {
			return false, "no heartbeat on the Consumer", nil
		}
		return connected.Status == metav1.ConditionTrue, connected.Reason + ": " + connected.Message, nil
	})
}

func errString(err error) string {
	if err == nil {
		return "none yet"
	}
	return err.Error()
}
