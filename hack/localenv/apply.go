package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/test/servers"
)

// fieldOwner is the server-side apply field manager of everything the local environment applies.
const fieldOwner = client.FieldOwner("bindery-localenv")

// applyFiles server-side applies every object in the YAML files to the cluster behind cfg, in
// order. A kind the server does not serve yet (a CRD or an API binding that was just created) is
// retried until it is, for at most a minute.
func applyFiles(ctx context.Context, cfg *rest.Config, files ...string) error {
	var objects []*unstructured.Unstructured
	for _, file := range files {
		objs, err := servers.ReadManifests(file)
		if err != nil {
			return err
		}
		objects = append(objects, objs...)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	for _, obj := range objects {
		if err := applyWhenServed(ctx, c, obj); err != nil {
			return fmt.Errorf("applying %s %s to %s: %w", obj.GetKind(), obj.GetName(), cfg.Host, err)
		}
	}
	return nil
}

func applyWhenServed(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), fieldOwner, client.ForceOwnership)
		if err == nil || !meta.IsNoMatchError(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}
