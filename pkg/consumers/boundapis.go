package consumers

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/services"
)

// publishAPIs writes one BoundAPI per bound PublishedResource into the Consumer's namespace, for
// its konnector to read, and deletes those of PublishedResources no longer bound. A Service that
// does not resolve right now keeps the BoundAPIs it had: the konnector goes on with the last good
// configuration until the provider has fixed it. A Service that is gone (the provider withdrew
// it) loses its BoundAPIs: that is how its konnector learns to stop and release the consumer's
// objects, instead of syncing on against a Role that no longer has the resources. Nothing else
// is deleted: the copies in the namespace stay, and so does what the provider runs for them.
func (a access) publishAPIs(ctx context.Context, consumer *bindv1alpha1.Consumer, bound boundServices) error {
	namespace := NamespaceName(consumer.Name)
	keep := sets.New[string]()
	for _, resolved := range bound.resolved {
		for i := range resolved.Resources {
			res := &resolved.Resources[i]
			api, err := boundAPI(resolved.Service, res)
			if err != nil {
				return err
			}
			api.Namespace = namespace
			keep.Insert(api.Name)
			spec := api.Spec
			if err := a.apply(ctx, consumer, api, func() { api.Spec = spec }); err != nil {
				return err
			}
		}
	}
	unresolved := sets.New[string]()
	for _, p := range bound.problems {
		unresolved.Insert(p.Service)
	}
	var existing bindv1alpha1.BoundAPIList
	if err := a.client.List(ctx, &existing, client.InNamespace(namespace), client.MatchingLabels{bindv1alpha1.ConsumerLabel: consumer.Name}); err != nil {
		return fmt.Errorf("listing the BoundAPIs of Consumer %s: %w", consumer.Name, err)
	}
	for i := range existing.Items {
		api := &existing.Items[i]
		if keep.Has(api.Name) || (unresolved.Has(api.Spec.Service) && hasService(consumer, api.Spec.Service)) {
			continue
		}
		if err := a.client.Delete(ctx, api); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting BoundAPI %s/%s: %w", namespace, api.Name, err)
		}
	}
	return nil
}

// boundAPI is what the konnector needs of one resolved PublishedResource.
func boundAPI(service string, res *services.Resource) (*bindv1alpha1.BoundAPI, error) {
	crd, err := json.Marshal(res.CRD)
	if err != nil {
		return nil, fmt.Errorf("encoding the CRD of PublishedResource %s: %w", res.PublishedResource, err)
	}
	return &bindv1alpha1.BoundAPI{
		ObjectMeta: metav1.ObjectMeta{Name: res.PublishedResource},
		Spec: bindv1alpha1.BoundAPISpec{
			Service:           service,
			PublishedResource: res.PublishedResource,
			CRD:               runtime.RawExtension{Raw: crd},
			SchemaHash:        res.CRD.Annotations[services.SchemaAnnotation],
			ConsumerKind:      gvk(res.Kinds.Consumer, res.Bound.Consumer.Resource),
			ProviderKind:      gvk(res.Kinds.Provider, res.Bound.Provider.Resource),
			CopiesStatus:      res.CopiesStatus,
			Naming:            res.Spec.Naming,
			Mutation:          res.Spec.Mutation,
			Related:           res.Spec.Related,
		},
	}, nil
}

func gvk(k schema.GroupVersionKind, resource string) bindv1alpha1.GroupVersionKind {
	return bindv1alpha1.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind, Resource: resource}
}
