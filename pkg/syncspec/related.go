package syncspec

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/mutation"
	"github.com/bindery-dev/bindery/pkg/publishing"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// compileRelatedList compiles spec.related; errors name the entry by its index.
func compileRelatedList(related []syncagentv1alpha1.RelatedResource, kindOf KindFunc) ([]syncengine.Related, error) {
	if len(related) > 0 && kindOf == nil {
		return nil, errors.New("spec.related: no way to resolve the related resources' kinds")
	}
	var out []syncengine.Related
	for i, rel := range related {
		compiled, err := compileRelated(rel, kindOf)
		if err != nil {
			return nil, fmt.Errorf("spec.related[%d]: %w", i, err)
		}
		out = append(out, compiled)
	}
	return out, nil
}

// compileRelated resolves a related entry's kinds on both sides and compiles how to find and
// rewrite it. Errors name the field below the entry (object.reference.path, mutation.spec, ...).
func compileRelated(rel syncagentv1alpha1.RelatedResource, kindOf KindFunc) (syncengine.Related, error) {
	out := syncengine.Related{
		Identifier: rel.Identifier, Origin: origin(rel.Origin),
		SyncStatus: rel.SyncStatus,
		Watch:      rel.Watch == nil || *rel.Watch,
		Cleanup:    rel.Cleanup == nil || *rel.Cleanup,
	}
	if err := resolveKinds(&out, rel, kindOf); err != nil {
		return syncengine.Related{}, err
	}
	if err := compileFinder(&out, rel.Object); err != nil {
		return syncengine.Related{}, err
	}
	var err error
	if out.Mutation, out.StatusMutation, err = compileMutation("mutation", rel.Mutation); err != nil {
		return syncengine.Related{}, err
	}
	return out, nil
}

// origin maps the side that owns a related object onto the engine's: the consumer's objects are
// the source side's, the provider's the destination side's.
func origin(o syncagentv1alpha1.RelatedOrigin) syncengine.Origin {
	if o == syncagentv1alpha1.OriginConsumer {
		return syncengine.FromSource
	}
	return syncengine.FromDestination
}

// resolveKinds resolves a related entry's kinds into out. The provider-side kind comes from kindOf. The
// consumer-side resource is the projected one (group, version and resource each default to the
// provider side's); its kind is the provider side's when only the version is projected, and
// otherwise left empty, to be discovered in each source cluster (syncengine.Related.SourceKind):
// the syncagent cannot see into the kcp workspace that serves a claimed resource until a
// consumer workspace is synced through the export's virtual workspace.
func resolveKinds(out *syncengine.Related, rel syncagentv1alpha1.RelatedResource, kindOf KindFunc) error {
	provider, err := kindOf(schema.GroupVersionResource{Group: rel.Group, Version: rel.Version, Resource: rel.Resource})
	if err != nil {
		return fmt.Errorf("the provider cluster does not serve %s: %w", rel.Resource, err)
	}
	consumer := publishing.RelatedConsumerResource(rel)
	out.DestinationGVK, out.SourceResource = provider, consumer
	out.SourceGVK = consumer.GroupVersion().WithKind(provider.Kind)
	if consumer.Group != rel.Group || consumer.Resource != rel.Resource {
		out.SourceGVK.Kind = "" // discovered
	}
	return nil
}

// compileFinder compiles the one way of rel.Object to find the related objects into out.
func compileFinder(out *syncengine.Related, o syncagentv1alpha1.RelatedObjectSelector) error {
	var err error
	switch {
	case o.Reference != nil:
		path, err := mutation.ParsePath(o.Reference.Path)
		if err != nil {
			return fmt.Errorf("object.reference.path: %w", err)
		}
		out.Reference = &path
	case o.Template != nil:
		if out.NameTemplate, err = templating.Parse("object.template.name", o.Template.Name); err != nil {
			return err
		}
		if o.Template.Namespace != "" {
			out.NamespaceTemplate, err = templating.Parse("object.template.namespace", o.Template.Namespace)
		}
	case o.Selector != nil:
		out.Selector, err = syncengine.CompileSelector("object.selector", o.Selector)
	}
	return err
}
