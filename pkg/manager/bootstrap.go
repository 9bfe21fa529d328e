package manager

import (
	"context"
	"fmt"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/deploy"
	"github.com/bindery-dev/bindery/pkg/kcpconfig"
	"github.com/bindery-dev/bindery/pkg/publishing"
)

// catalogCRD is the manifest of the CatalogEntry CRD in deploy/crd.
const catalogCRD = "crd/catalog.bindery.dev_catalogentries.yaml"

// ensureCatalogWorkspace creates the catalog workspace if needed, installs the CatalogEntry CRD
// there and lets every authenticated user read it. It returns a config for the workspace.
func ensureCatalogWorkspace(ctx context.Context, server *rest.Config, scheme *runtime.Scheme, path logicalcluster.Path) (*rest.Config, error) {
	parent, name := path.Split()
	parentClient, err := client.New(kcpconfig.ForCluster(server, parent.String()), client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	ws := &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := parentClient.Create(ctx, ws); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating the catalog workspace %s: %w", path, err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := parentClient.Get(ctx, client.ObjectKeyFromObject(ws), ws)
		return err == nil && ws.Status.Phase == corev1alpha1.LogicalClusterPhaseReady, nil
	}); err != nil {
		return nil, fmt.Errorf("waiting for the catalog workspace %s to be ready: %w", path, err)
	}
	cfg := kcpconfig.ForCluster(server, path.String())
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	if err := installCRD(ctx, c); err != nil {
		return nil, err
	}
	if err := publishInventoryAPI(ctx, c); err != nil {
		return nil, err
	}
	return cfg, grantRead(ctx, c)
}

// InventoryExport is the APIExport in the catalog workspace that serves ExportInventory.
const InventoryExport = "inventory.bindery.dev"

// inventoryCRD is the manifest the inventory API's schema is built from.
const inventoryCRD = "crd/inventory.bindery.dev_exportinventories.yaml"

// publishInventoryAPI publishes ExportInventory as an APIExport, so that the manager can bind it
// into providers' workspaces. The schema is built the way the syncagent publishes a CRD.
func publishInventoryAPI(ctx context.Context, c client.Client) error {
	crd, err := readCRD(inventoryCRD)
	if err != nil {
		return err
	}
	schema, ferr := publishing.BuildSchema(crd, syncagentv1alpha1.PublishedResourceSpec{
		Resource: syncagentv1alpha1.SourceResource{APIGroup: crd.Spec.Group, Kind: crd.Spec.Names.Kind},
	})
	if ferr != nil {
		return ferr
	}
	if err := c.Create(ctx, schema); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("publishing the inventory schema: %w", err)
	}
	export := &apisv1alpha2.APIExport{}
	err = c.Get(ctx, client.ObjectKey{Name: InventoryExport}, export)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	export.Name = InventoryExport
	export.Spec.Resources = []apisv1alpha2.ResourceSchema{{
		Name: crd.Spec.Names.Plural, Group: crd.Spec.Group, Schema: schema.Name,
		Storage: apisv1alpha2.ResourceSchemaStorage{CRD: &apisv1alpha2.ResourceSchemaStorageCRD{}},
	}}
	if apierrors.IsNotFound(err) {
		err = c.Create(ctx, export)
	} else {
		err = c.Update(ctx, export)
	}
	if err != nil {
		return fmt.Errorf("publishing the inventory APIExport: %w", err)
	}
	return nil
}

func readCRD(name string) (*apiextensionsv1.CustomResourceDefinition, error) {
	data, err := deploy.CRDs.ReadFile(name)
	if err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", name, err)
	}
	return crd, nil
}

func installCRD(ctx context.Context, c client.Client) error {
	crd, err := readCRD(catalogCRD)
	if err != nil {
		return err
	}
	existing := &apiextensionsv1.CustomResourceDefinition{}
	switch err := c.Get(ctx, client.ObjectKeyFromObject(crd), existing); {
	case apierrors.IsNotFound(err):
		err = c.Create(ctx, crd)
		if err != nil {
			return fmt.Errorf("installing the CatalogEntry CRD: %w", err)
		}
	case err != nil:
		return err
	default:
		existing.Spec = crd.Spec
		if err := c.Update(ctx, existing); err != nil {
			return fmt.Errorf("updating the CatalogEntry CRD: %w", err)
		}
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
			return false, nil
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// grantRead lets every authenticated user enter the catalog workspace and read the entries.
func grantRead(ctx context.Context, c client.Client) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "bindery:catalog-reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"catalog.bindery.dev"}, Resources: []string{"catalogentries"}, Verbs: []string{"get", "list", "watch"}},
			{NonResourceURLs: []string{"/"}, Verbs: []string{"access"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bindery:catalog-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:authenticated"}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("granting read access to the catalog: %w", err)
		}
	}
	return nil
}
