package syncagent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/providers/apiexport"
)

// FinalizerPrefix + agent name is the finalizer an agent puts on every PublishedResource whose
// objects it syncs: deleting the PublishedResource waits until the agent has released the
// consumers' objects (see releaser).
const FinalizerPrefix = "release.syncagent.bindery.dev/"

// Finalizer returns the finalizer of an agent on its PublishedResources.
func Finalizer(agent string) string { return FinalizerPrefix + agent }

// releaser lets go of the consumers' objects of a kind when its sync stops for good (the
// PublishedResource is deleted or its sync disabled): it removes syncengine.Finalizer from every
// object of the kind, in every workspace that binds the export, and leaves their copies in the
// provider cluster alone. It reads the objects through the export's virtual workspaces directly
// (<endpoint>/clusters/*), not through the engaged clusters, so that workspaces the agent has not
// engaged yet (after a restart) are covered too.
type releaser struct {
	// kcp reads the APIExportEndpointSlice, not through a cache.
	kcp       client.Reader
	config    *rest.Config
	sliceName string
	scheme    *runtime.Scheme
	// pageSize is how many objects one list request returns.
	pageSize int64
}

// released counts what a release did.
type released struct {
	objects    int
	workspaces map[logicalcluster.Name]struct{}
}

// release removes the sync finalizer from the consumers' objects of kind. A kind without a
// version is looked up in the virtual workspace's discovery; a kind that the export does not
// serve (any more) has no objects the agent could reach.
func (r *releaser) release(ctx context.Context, kind schema.GroupVersionKind) (released, error) {
	out := released{workspaces: map[logicalcluster.Name]struct{}{}}
	slice := &apisv1alpha1.APIExportEndpointSlice{}
	if err := r.kcp.Get(ctx, client.ObjectKey{Name: r.sliceName}, slice); err != nil {
		if apierrors.IsNotFound(err) {
			return out, nil // no export, so no consumers
		}
		return out, fmt.Errorf("reading APIExportEndpointSlice %s: %w", r.sliceName, err)
	}
	var errs []error
	for _, url := range apiexport.EndpointURLs(slice, func(u string) string { return u }) {
		if err := r.releaseAt(ctx, url, kind, &out); err != nil {
			errs = append(errs, fmt.Errorf("endpoint %s: %w", url, err))
		}
	}
	return out, errors.Join(errs...)
}

func (r *releaser) releaseAt(ctx context.Context, url string, kind schema.GroupVersionKind, out *released) error {
	wildcard := clusterConfig(r.config, url, "*")
	httpClient, err := rest.HTTPClientFor(wildcard)
	if err != nil {
		return err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(wildcard, httpClient)
	if err != nil {
		return err
	}
	var versions []string
	if kind.Version != "" {
		versions = append(versions, kind.Version)
	}
	mapping, err := mapper.RESTMapping(kind.GroupKind(), versions...)
	if meta.IsNoMatchError(err) {
		log.FromContext(ctx).Info("the export does not serve the kind; no consumer object of it can be released", "kind", kind.GroupKind().String(), "endpoint", url)
		return nil
	}
	if err != nil {
		return err
	}
	opts := client.Options{Scheme: r.scheme, Mapper: mapper, HTTPClient: httpClient}
	all, err := client.New(wildcard, opts)
	if err != nil {
		return err
	}
	clients := map[logicalcluster.Name]client.Client{}
	var errs []error
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(listKind(mapping.GroupVersionKind))
	for {
		if err := all.List(ctx, list, client.Limit(r.pageSize), client.Continue(list.GetContinue())); err != nil {
			return fmt.Errorf("listing %s: %w", mapping.GroupVersionKind.GroupKind(), err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			patch, ok := syncengine.ReleasePatch(obj)
			if !ok {
				continue
			}
			cluster := logicalcluster.From(obj)
			c, ok := clients[cluster]
			if !ok {
				if c, err = client.New(clusterConfig(r.config, url, cluster.String()), opts); err != nil {
					return err
				}
				clients[cluster] = c
			}
			if err := c.Patch(ctx, obj, patch); err != nil {
				if !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("%s %s/%s in %s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), cluster, err))
				}
				continue
			}
			out.objects++
			out.workspaces[cluster] = struct{}{}
		}
		if list.GetContinue() == "" {
			break
		}
	}
	return errors.Join(errs...)
}

// clusterConfig addresses a logical cluster (or "*") below a virtual workspace URL.
func clusterConfig(cfg *rest.Config, url, cluster string) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.Host = strings.TrimSuffix(url, "/") + "/clusters/" + cluster
	return out
}

// projectedKind reads status.projected ("Kind.group", as publishing.GroupKind writes it).
func projectedKind(projected string) (schema.GroupVersionKind, bool) {
	kind, group, _ := strings.Cut(projected, ".")
	if kind == "" {
		return schema.GroupVersionKind{}, false
	}
	return schema.GroupVersionKind{Group: group, Kind: kind}, true
}
