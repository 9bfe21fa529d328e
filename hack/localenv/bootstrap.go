package main

import (
	"context"
	"fmt"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// The quickstart's names; docs/quickstart.md and deploy/kcp/provider use the same.
const (
	providerWorkspace = "root:provider"
	exportName        = "databases"
	agentName         = "quickstart"
	catalogWorkspace  = "root:catalog"
	databaseCRD       = "databases.db.provider.example"
)

// consumerWorkspaces are the teams that bind the export.
var consumerWorkspaces = []string{"team-a", "team-b"}

// consumerDatabases is the Database API as consumers see it (examples/quickstart/publishedresource.yaml
// projects the provider's group db.provider.example to db.example.com).
var consumerDatabases = schema.GroupVersionKind{Group: "db.example.com", Version: "v1alpha1", Kind: "DatabaseList"}

// waitTimeout bounds each wait of the bootstrap; a step that takes longer fails with what it saw.
const waitTimeout = 3 * time.Minute

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, apisv1alpha2.AddToScheme,
		tenancyv1alpha1.AddToScheme, syncagentv1alpha1.AddToScheme, catalogv1alpha1.AddToScheme,
		bindv1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// startOperator installs the PublishedResource CRD into the provider cluster and starts the
// example operator, which installs its Database CRD.
func (e *environment) startOperator(ctx context.Context) error {
	if err := applyFiles(ctx, e.provider.Config(), "deploy/crd/syncagent.bindery.dev_publishedresources.yaml"); err != nil {
		return err
	}
	if err := e.start("database-operator", "--kubeconfig", e.state.providerKubeconfig()); err != nil {
		return err
	}
	c, err := newClient(e.provider.Config())
	if err != nil {
		return err
	}
	return e.waitFor(ctx, "the Database CRD to be established", func(ctx context.Context) (bool, string, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: databaseCRD}, crd); err != nil {
			return false, err.Error(), nil
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, "not established yet", nil
	})
}

// createProviderWorkspace applies deploy/kcp/provider: the workspace, then its APIExport.
func (e *environment) createProviderWorkspace(ctx context.Context) error {
	if err := applyFiles(ctx, e.workspaceConfig("root"), "deploy/kcp/provider/workspace.yaml"); err != nil {
		return err
	}
	if err := e.waitForWorkspace(ctx, "root", "provider"); err != nil {
		return err
	}
	if err := applyFiles(ctx, e.workspaceConfig(providerWorkspace), "deploy/kcp/provider/apiexport.yaml"); err != nil {
		return err
	}
	return writeKubeconfig(e.workspaceConfig(providerWorkspace), "provider-workspace", e.state.providerWorkspaceKubeconfig())
}

// startSyncAgent starts bindery-syncagent and publishes the Database CRD with the quickstart's
// PublishedResource, then waits until the export serves it.
func (e *environment) startSyncAgent(ctx context.Context) error {
	if err := e.start("bindery-syncagent",
		"--kcp-kubeconfig", e.state.providerWorkspaceKubeconfig(),
		"--kubeconfig", e.state.providerKubeconfig(),
		"--apiexport-endpoint-slice", exportName,
		"--agent-name", agentName,
		// The PublishedResources of bindery-backend's Services are for Kubernetes consumers.
		"--published-resource-selector", "!"+kubePublishedResourceLabel,
		"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0"); err != nil {
		return err
	}
	if err := applyFiles(ctx, e.provider.Config(), "examples/quickstart/publishedresource.yaml"); err != nil {
		return err
	}
	c, err := newClient(e.provider.Config())
	if err != nil {
		return err
	}
	return e.waitFor(ctx, "PublishedResource databases to be Ready", func(ctx context.Context) (bool, string, error) {
		pr := &syncagentv1alpha1.PublishedResource{}
		if err := c.Get(ctx, client.ObjectKey{Name: "databases"}, pr); err != nil {
			return false, "", err
		}
		ready := meta.FindStatusCondition(pr.Status.Conditions, "Ready")
		if ready == nil {
			return false, "no Ready condition yet", nil
		}
		return ready.Status == metav1.ConditionTrue, ready.Reason + ": " + ready.Message, nil
	})
}

// startManager starts bindery-manager and waits until the catalog lists the export.
func (e *environment) startManager(ctx context.Context) error {
	if err := e.start("bindery-manager",
		"--kubeconfig", e.state.kcpKubeconfig(),
		"--fleet-kubeconfig", e.state.kcpKubeconfig(), "--fleet-context", "shard-base",
		"--catalog-workspace", catalogWorkspace,
		"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0"); err != nil {
		return err
	}
	c, err := newClient(e.workspaceConfig(catalogWorkspace))
	if err != nil {
		return err
	}
	return e.waitFor(ctx, "the catalog to list the export", func(ctx context.Context) (bool, string, error) {
		entries := &catalogv1alpha1.CatalogEntryList{}
		if err := c.List(ctx, entries); err != nil {
			return false, err.Error(), nil // the catalog workspace or its CRD may not exist yet
		}
		for _, entry := range entries.Items {
			if entry.Spec.Export.Name == exportName {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d entries", len(entries.Items)), nil
	})
}

// bindConsumers creates the team workspaces, binds the export in each, accepting the permission
// claims it makes, and waits until each serves the Database API.
func (e *environment) bindConsumers(ctx context.Context) error {
	export := &apisv1alpha2.APIExport{}
	providerClient, err := newClient(e.workspaceConfig(providerWorkspace))
	if err != nil {
		return err
	}
	if err := providerClient.Get(ctx, client.ObjectKey{Name: exportName}, export); err != nil {
		return err
	}
	for _, team := range consumerWorkspaces {
		if err := e.bindConsumer(ctx, team, export.Spec.PermissionClaims); err != nil {
			return fmt.Errorf("%s: %w", team, err)
		}
	}
	return nil
}

func (e *environment) bindConsumer(ctx context.Context, team string, claims []apisv1alpha2.PermissionClaim) error {
	root, err := newClient(e.workspaceConfig("root"))
	if err != nil {
		return err
	}
	ws := &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: team}}
	if err := root.Create(ctx, ws); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := e.waitForWorkspace(ctx, "root", team); err != nil {
		return err
	}
	cfg := e.workspaceConfig("root:" + team)
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	if err := ensureBinding(ctx, c, claims); err != nil {
		return err
	}
	if err := e.waitFor(ctx, fmt.Sprintf("root:%s to serve Databases", team), func(ctx context.Context) (bool, string, error) {
		fresh, err := newClient(cfg) // a new client discovers APIs afresh
		if err != nil {
			return false, "", err
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(consumerDatabases)
		if err := fresh.List(ctx, list); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	}); err != nil {
		return err
	}
	return writeKubeconfig(cfg, team, e.state.kubeconfig(team))
}

// ensureBinding creates the APIBinding to the export, or updates the claims it accepts to the ones
// the export makes now.
func ensureBinding(ctx context.Context, c client.Client, claims []apisv1alpha2.PermissionClaim) error {
	var accepted []apisv1alpha2.AcceptablePermissionClaim
	for _, claim := range claims {
		accepted = append(accepted, apisv1alpha2.AcceptablePermissionClaim{
			ScopedPermissionClaim: apisv1alpha2.ScopedPermissionClaim{
				PermissionClaim: claim,
				Selector:        apisv1alpha2.PermissionClaimSelector{MatchAll: true},
			},
			State: apisv1alpha2.ClaimAccepted,
		})
	}
	binding := &apisv1alpha2.APIBinding{}
	err := c.Get(ctx, client.ObjectKey{Name: exportName}, binding)
	if apierrors.IsNotFound(err) {
		binding = &apisv1alpha2.APIBinding{
			ObjectMeta: metav1.ObjectMeta{Name: exportName},
			Spec: apisv1alpha2.APIBindingSpec{
				Reference: apisv1alpha2.BindingReference{
					Export: &apisv1alpha2.ExportBindingReference{Path: providerWorkspace, Name: exportName},
				},
				PermissionClaims: accepted,
			},
		}
		return c.Create(ctx, binding)
	}
	if err != nil {
		return err
	}
	binding.Spec.PermissionClaims = accepted
	return c.Update(ctx, binding)
}

// waitForWorkspace waits until the workspace name in parent is Ready.
func (e *environment) waitForWorkspace(ctx context.Context, parent, name string) error {
	c, err := newClient(e.workspaceConfig(parent))
	if err != nil {
		return err
	}
	return e.waitFor(ctx, fmt.Sprintf("workspace %s:%s to be Ready", parent, name), func(ctx context.Context) (bool, string, error) {
		ws := &tenancyv1alpha1.Workspace{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, ws); err != nil {
			return false, "", err
		}
		return ws.Status.Phase == "Ready", fmt.Sprintf("phase %q", ws.Status.Phase), nil
	})
}

// waitFor polls check every half second until it reports done, an error, or waitTimeout passes.
// It also fails early when one of the environment's processes has exited.
func (e *environment) waitFor(ctx context.Context, what string, check func(context.Context) (bool, string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	last := ""
	for {
		done, detail, err := check(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if done {
			return nil
		}
		last = detail
		for _, p := range e.processes {
			if err := p.running(); err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for %s (last: %s)", waitTimeout, what, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func newClient(cfg *rest.Config) (client.Client, error) {
	return client.New(cfg, client.Options{Scheme: scheme})
}
