package publishing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// Condition reasons of a PublishedResource.
const (
	ReasonPublished               = "Published"
	ReasonInvalidSpec             = "InvalidSpec"
	ReasonCRDNotFound             = "CRDNotFound"
	ReasonVersionNotServed        = "VersionNotServed"
	ReasonSchemaCreateFailed      = "SchemaCreateFailed"
	ReasonExportUpdateFailed      = "ExportUpdateFailed"
	ReasonExportConflict          = "ExportConflict"
	ReasonSynchronizationDisabled = "SynchronizationDisabled"
)

// Reconciler publishes the PublishedResources of one agent into one APIExport. It must run with
// a single worker: every reconcile rewrites the shared APIExport from all PublishedResources.
type Reconciler struct {
	// Provider reads PublishedResources and CRDs (cached) and writes their status.
	Provider client.Client
	// KCP writes APIResourceSchemas and the APIExport in the provider's kcp workspace; reads go
	// to the server, so that a schema created a moment ago is seen.
	KCP client.Client
	// AgentName marks what this agent owns.
	AgentName string
	// Namespace is the agent's namespace in the provider cluster; with AgentName it is the
	// identity that status.agent records.
	Namespace string
	// Agents tells whether the agents that hold or contend for a PublishedResource are alive.
	Agents Agents
	// Recheck is how often a PublishedResource that another agent holds, or contends for, is
	// looked at again, to see whether that agent is gone.
	Recheck time.Duration
	// ExportName is the APIExport the agent manages.
	ExportName string
	// Selector picks this agent's PublishedResources.
	Selector labels.Selector
	Recorder record.EventRecorder
}

// outcome is what publishing one PublishedResource's schema came to.
type outcome struct {
	schema  *apisv1alpha1.APIResourceSchema // nil unless a schema was built
	reason  string                          // empty on success
	message string
	err     error // transient: retry
}

// Reconcile publishes one PublishedResource (if it exists and is this agent's), then brings the
// APIExport in line with all of the agent's PublishedResources, then reports the result. A
// PublishedResource that another live agent holds is left alone (claim), and so is the export
// while an older agent of the same name runs.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	elder, err := r.Agents.Elder(ctx)
	if err != nil {
		// Without the right to read presence Leases the agent cannot find a twin; it works on
		// rather than not at all.
		log.FromContext(ctx).Error(err, "cannot look for another agent of the same name; going on as the only one")
	}
	pr, err := r.get(ctx, req.Name)
	if err != nil {
		return reconcile.Result{}, err
	}
	if pr != nil {
		mine, err := r.claim(ctx, pr, elder)
		if err != nil || !mine {
			return reconcile.Result{RequeueAfter: r.Recheck}, err
		}
	}
	if elder != nil {
		return reconcile.Result{RequeueAfter: r.Recheck}, nil
	}
	var result outcome
	if pr != nil {
		result = r.publishSchema(ctx, pr)
	}
	export, exportErr := r.syncExport(ctx, pr, result.schema)
	if pr != nil {
		if err := r.report(ctx, pr, result, export, exportErr); err != nil {
			return reconcile.Result{}, err
		}
	}
	return r.recheck(pr), errors.Join(result.err, exportErr)
}

// recheck looks at a PublishedResource with contenders again, to drop those that are gone.
func (r *Reconciler) recheck(pr *syncagentv1alpha1.PublishedResource) reconcile.Result {
	if pr != nil && len(pr.Status.Contenders) > 0 {
		return reconcile.Result{RequeueAfter: r.Recheck}
	}
	return reconcile.Result{}
}

// get returns the named PublishedResource if it exists and matches the agent's selector. One
// that exists but does not match is released: another agent may hold it.
func (r *Reconciler) get(ctx context.Context, name string) (*syncagentv1alpha1.PublishedResource, error) {
	if name == "" {
		return nil, nil
	}
	pr := &syncagentv1alpha1.PublishedResource{}
	if err := r.Provider.Get(ctx, client.ObjectKey{Name: name}, pr); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	if !r.Selector.Matches(labels.Set(pr.Labels)) {
		return nil, r.release(ctx, pr)
	}
	return pr, nil
}

// publishSchema validates the spec, builds the schema from the CRD and makes sure it exists in kcp.
func (r *Reconciler) publishSchema(ctx context.Context, pr *syncagentv1alpha1.PublishedResource) outcome {
	if errs := ValidateSpec(pr.Spec); len(errs) > 0 {
		return outcome{reason: ReasonInvalidSpec, message: errs.ToAggregate().Error()}
	}
	if errs := ValidateClaims(pr.Spec); len(errs) > 0 {
		return outcome{reason: ReasonInvalidClaim, message: errs.ToAggregate().Error()}
	}
	crd, err := FindCRD(ctx, r.Provider, pr.Spec.Resource)
	if errors.Is(err, ErrNoCRD) {
		// Not retried: the CRD watch brings the PublishedResource back when the CRD appears.
		return outcome{reason: ReasonCRDNotFound, message: err.Error()}
	}
	if err != nil {
		return outcome{reason: ReasonCRDNotFound, message: err.Error(), err: err}
	}
	schema, ferr := BuildSchema(crd, pr.Spec)
	if ferr != nil {
		reason := ReasonInvalidSpec
		if strings.HasPrefix(ferr.Field, "spec.resource.versions") {
			reason = ReasonVersionNotServed
		}
		return outcome{reason: reason, message: ferr.Error()}
	}
	schema.Labels = map[string]string{AgentNameLabel: r.AgentName}
	if err := r.KCP.Create(ctx, schema); err != nil && !apierrors.IsAlreadyExists(err) {
		return outcome{reason: ReasonSchemaCreateFailed, message: fmt.Sprintf("creating APIResourceSchema %s: %v", schema.Name, err), err: err}
	}
	return outcome{schema: schema}
}

// FindCRD returns the CRD that serves the resource's kind in its group, or an error wrapping
// ErrNoCRD.
func FindCRD(ctx context.Context, c client.Reader, res syncagentv1alpha1.SourceResource) (*apiextensionsv1.CustomResourceDefinition, error) {
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := c.List(ctx, crds); err != nil {
		return nil, fmt.Errorf("listing CRDs: %w", err)
	}
	for i := range crds.Items {
		if crd := &crds.Items[i]; crd.Spec.Group == res.APIGroup && crd.Spec.Names.Kind == res.Kind {
			return crd, nil
		}
	}
	return nil, fmt.Errorf("spec.resource: %w serves kind %s in group %s; create the CRD or fix apiGroup and kind", ErrNoCRD, res.Kind, res.APIGroup)
}

// ErrNoCRD says that the provider cluster has no CRD for a PublishedResource.
var ErrNoCRD = errors.New("no CustomResourceDefinition in the provider cluster")

// exportOutcome is what syncExport decided for the PublishedResource being reconciled.
type exportOutcome struct {
	// resolved is false when syncExport failed before it decided which schemas go in.
	resolved bool
	// served is the schema the export serves for the PublishedResource (when resolved), if any.
	served string
	// conflict says why the PublishedResource's schema was left out; empty if it was not.
	conflict string
	// claimConflict says which of its claims kcp would refuse next to another claim, if that is
	// why it was left out.
	claimConflict string
}

// syncExport merges the schemas and claims of all the agent's PublishedResources into the
// APIExport, creating it if needed. current and fresh override the cached state of the
// PublishedResource being reconciled. A PublishedResource whose schema clashes with another
// entry is left out (ResolveSchemas), so that it does not hold back the others.
func (r *Reconciler) syncExport(ctx context.Context, current *syncagentv1alpha1.PublishedResource, fresh *apisv1alpha1.APIResourceSchema) (exportOutcome, error) {
	prs, err := r.listOwn(ctx, current)
	if err != nil {
		return exportOutcome{}, err
	}
	owned, err := r.ownedSchemas(ctx)
	if err != nil {
		return exportOutcome{}, err
	}
	export := &apisv1alpha2.APIExport{}
	err = r.KCP.Get(ctx, client.ObjectKey{Name: r.ExportName}, export)
	exists := err == nil
	switch {
	case apierrors.IsNotFound(err):
		export = &apisv1alpha2.APIExport{ObjectMeta: metav1.ObjectMeta{Name: r.ExportName}}
	case err != nil:
		return exportOutcome{}, fmt.Errorf("reading APIExport %s: %w", r.ExportName, err)
	}

	var candidates []Candidate
	for _, pr := range prs {
		c := Candidate{PublishedResource: pr.Name, Schema: pr.Status.ResourceSchemaName, Previous: pr.Status.ResourceSchemaName, Created: pr.CreationTimestamp.Time}
		if current != nil && pr.Name == current.Name && fresh != nil {
			c.Schema = fresh.Name
		}
		// A PublishedResource that turned invalid keeps its last published schema: consumers
		// that bound it keep working until the spec is fixed.
		if c.Schema != "" {
			candidates = append(candidates, c)
		}
	}
	// A claim kcp would refuse next to another one fails the whole update: its PublishedResource
	// is left out instead.
	clashes := ClaimClashes(export.Spec.PermissionClaims, previousClaims(export, r.AgentName), withCandidates(prs, candidates))
	candidates = slices.DeleteFunc(candidates, func(c Candidate) bool { return clashes[c.PublishedResource] != nil })
	schemas, conflicts, err := ResolveSchemas(export.Spec.Resources, owned, candidates)
	if err != nil {
		return exportOutcome{}, err
	}
	// A PublishedResource that is not listed yet (a stale cache) keeps its recorded schema.
	out := exportOutcome{resolved: current == nil || slices.ContainsFunc(prs, func(pr syncagentv1alpha1.PublishedResource) bool { return pr.Name == current.Name })}
	if current != nil {
		if clash := clashes[current.Name]; clash != nil {
			out.claimConflict = clash.Error()
		} else if c, ok := conflicts[current.Name]; ok {
			out.conflict = r.conflictMessage(ctx, c)
		} else if i := slices.IndexFunc(candidates, func(c Candidate) bool { return c.PublishedResource == current.Name }); i >= 0 {
			out.served = candidates[i].Schema
		}
	}
	claims := DesiredClaims(Serving(prs, candidates, conflicts))
	return out, r.applyExport(ctx, export, exists, owned, DesiredExport{Schemas: schemas, Claims: claims})
}

// withCandidates keeps the PublishedResources that have a candidate schema for the export.
func withCandidates(prs []syncagentv1alpha1.PublishedResource, candidates []Candidate) []syncagentv1alpha1.PublishedResource {
	return slices.DeleteFunc(slices.Clone(prs), func(pr syncagentv1alpha1.PublishedResource) bool {
		return !slices.ContainsFunc(candidates, func(c Candidate) bool { return c.PublishedResource == pr.Name })
	})
}

// Serving keeps the PublishedResources whose schema the export serves: consumers are asked to
// accept claims only for what they can bind, not for a PublishedResource that never published or
// lost a clash.
func Serving(prs []syncagentv1alpha1.PublishedResource, candidates []Candidate, conflicts map[string]Conflict) []syncagentv1alpha1.PublishedResource {
	var serving []syncagentv1alpha1.PublishedResource
	for _, pr := range prs {
		_, clashed := conflicts[pr.Name]
		published := slices.ContainsFunc(candidates, func(c Candidate) bool { return c.PublishedResource == pr.Name })
		if published && !clashed {
			serving = append(serving, pr)
		}
	}
	return serving
}

// conflictMessage says which entry a PublishedResource's schema clashes with, and what to do.
func (r *Reconciler) conflictMessage(ctx context.Context, c Conflict) string {
	resource := c.Resource + "." + c.Group
	if c.PublishedResource != "" {
		return fmt.Sprintf("PublishedResource %s already publishes %s in APIExport %s; give one of them another spec.projection (group or plural)",
			c.PublishedResource, resource, r.ExportName)
	}
	owner := "which no bindery agent owns"
	schema := &apisv1alpha1.APIResourceSchema{}
	if err := r.KCP.Get(ctx, client.ObjectKey{Name: c.ForeignSchema}, schema); err == nil && schema.Labels[AgentNameLabel] != "" {
		owner = fmt.Sprintf("which belongs to agent %s", schema.Labels[AgentNameLabel])
	}
	return fmt.Sprintf("APIExport %s already serves %s from APIResourceSchema %s, %s; publish under another spec.projection (group or plural), or remove that entry",
		r.ExportName, resource, c.ForeignSchema, owner)
}

// listOwn lists the PublishedResources the agent selects and holds; current (if not nil) was
// claimed a moment ago, which the cache may not show yet.
func (r *Reconciler) listOwn(ctx context.Context, current *syncagentv1alpha1.PublishedResource) ([]syncagentv1alpha1.PublishedResource, error) {
	list := &syncagentv1alpha1.PublishedResourceList{}
	if err := r.Provider.List(ctx, list, client.MatchingLabelsSelector{Selector: r.Selector}); err != nil {
		return nil, fmt.Errorf("listing PublishedResources: %w", err)
	}
	return slices.DeleteFunc(list.Items, func(pr syncagentv1alpha1.PublishedResource) bool {
		if current != nil && pr.Name == current.Name {
			return !Holds(current, r.self())
		}
		return !Holds(&pr, r.self())
	}), nil
}

func (r *Reconciler) ownedSchemas(ctx context.Context) (sets.Set[string], error) {
	schemas := &apisv1alpha1.APIResourceSchemaList{}
	if err := r.KCP.List(ctx, schemas, client.MatchingLabels{AgentNameLabel: r.AgentName}); err != nil {
		return nil, fmt.Errorf("listing the agent's APIResourceSchemas: %w", err)
	}
	owned := sets.New[string]()
	for _, s := range schemas.Items {
		owned.Insert(s.Name)
	}
	return owned, nil
}

// applyExport merges desired into export (read a moment ago; exists says whether it exists) and
// writes it if anything changed.
func (r *Reconciler) applyExport(ctx context.Context, export *apisv1alpha2.APIExport, exists bool, owned sets.Set[string], desired DesiredExport) error {
	if !exists {
		if err := MergeExport(export, r.AgentName, owned, desired); err != nil {
			return err
		}
		if err := r.KCP.Create(ctx, export); err != nil {
			return fmt.Errorf("creating APIExport %s: %w", r.ExportName, err)
		}
		log.FromContext(ctx).Info("created APIExport", "export", r.ExportName)
		return nil
	}
	before := export.DeepCopy()
	if err := MergeExport(export, r.AgentName, owned, desired); err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(before.Spec, export.Spec) && equality.Semantic.DeepEqual(before.Annotations, export.Annotations) {
		return nil
	}
	if err := r.KCP.Update(ctx, export); err != nil {
		return fmt.Errorf("updating APIExport %s: %w", r.ExportName, err)
	}
	log.FromContext(ctx).Info("updated APIExport", "export", r.ExportName, "schemas", desired.Schemas)
	return nil
}

// DesiredClaims are the permission claims the PublishedResources need: events and namespaces for
// the object sync, and every related resource whose claim kcp accepts (validRelatedClaims).
func DesiredClaims(prs []syncagentv1alpha1.PublishedResource) []apisv1alpha2.PermissionClaim {
	var claims []apisv1alpha2.PermissionClaim
	syncing := false
	for _, pr := range prs {
		if !SynchronizationEnabled(pr.Spec) {
			continue
		}
		syncing = true
		for _, rc := range validRelatedClaims(pr.Spec) {
			claims = append(claims, rc.claim)
		}
	}
	if syncing {
		claims = append(claims, syncClaims...)
	}
	return claims
}

// RelatedConsumerResource is a related resource as kcp serves it: spec.related[].projection's
// group, version and resource, each defaulting to the provider cluster's.
func RelatedConsumerResource(rel syncagentv1alpha1.RelatedResource) schema.GroupVersionResource {
	gvr := schema.GroupVersionResource{Group: rel.Group, Version: rel.Version, Resource: rel.Resource}
	if p := rel.Projection; p != nil {
		if p.Group != "" {
			gvr.Group = p.Group
		}
		if p.Version != "" {
			gvr.Version = p.Version
		}
		if p.Resource != "" {
			gvr.Resource = p.Resource
		}
	}
	return gvr
}

// SynchronizationEnabled reports whether objects of the PublishedResource are synced (default yes).
func SynchronizationEnabled(spec syncagentv1alpha1.PublishedResourceSpec) bool {
	return spec.Synchronization == nil || spec.Synchronization.Enabled == nil || *spec.Synchronization.Enabled
}

// report writes status and, on changes of the Ready condition, an event.
func (r *Reconciler) report(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, result outcome, export exportOutcome, exportErr error) error {
	status := pr.Status.DeepCopy()
	status.ObservedGeneration = pr.Generation
	status.Source = GroupKind(pr.Spec.Resource.Kind, pr.Spec.Resource.APIGroup)
	if result.schema != nil {
		status.ResourceSchemaName = result.schema.Name
		status.Projected = GroupKind(result.schema.Spec.Names.Kind, result.schema.Spec.Group)
	}
	// status.resourceSchemaName names the schema the export serves for this PublishedResource:
	// a schema left out because of a clash is not recorded, since every rebuild of the export
	// starts from these names.
	if export.resolved {
		status.ResourceSchemaName = export.served
	}

	meta.SetStatusCondition(&status.Conditions, r.publishedCondition(pr.Generation, status.ResourceSchemaName, result, export, exportErr))
	if !SynchronizationEnabled(pr.Spec) {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{
			Type: syncagentv1alpha1.ConditionSynced, Status: metav1.ConditionTrue, ObservedGeneration: pr.Generation,
			Reason: ReasonSynchronizationDisabled, Message: "spec.synchronization.enabled is false: only the schema is published",
		})
	}
	previous, ready := SetReady(status, pr.Generation)
	// The optimistic lock keeps the Synced condition, which the sync controller writes, and so
	// Ready is computed from the Synced condition that is stored.
	if changed, err := r.patchStatus(ctx, pr, status); err != nil || !changed {
		return err
	}
	ReadyEvent(r.Recorder, pr, previous, ready)
	return nil
}

// patchStatus writes status into pr if it differs, with an optimistic lock: what the sync
// controller or another agent wrote meanwhile is never overwritten, the write fails instead and
// the reconcile starts again from what is stored. It reports whether it wrote.
func (r *Reconciler) patchStatus(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, status *syncagentv1alpha1.PublishedResourceStatus) (bool, error) {
	if equality.Semantic.DeepEqual(&pr.Status, status) {
		return false, nil
	}
	patch := client.MergeFromWithOptions(pr.DeepCopy(), client.MergeFromWithOptimisticLock{})
	pr.Status = *status
	if err := r.Provider.Status().Patch(ctx, pr, patch); err != nil {
		return false, fmt.Errorf("updating status of PublishedResource %s: %w", pr.Name, err)
	}
	return true, nil
}

// publishedCondition is the SchemaPublished condition for the outcome of a reconcile; schema is
// what status.resourceSchemaName records.
func (r *Reconciler) publishedCondition(generation int64, schema string, result outcome, export exportOutcome, exportErr error) metav1.Condition {
	published := metav1.Condition{Type: syncagentv1alpha1.ConditionSchemaPublished, ObservedGeneration: generation}
	switch {
	case result.reason != "" || export.conflict != "" || export.claimConflict != "":
		published.Status, published.Reason, published.Message = metav1.ConditionFalse, result.reason, result.message
		switch {
		case result.reason != "":
		case export.claimConflict != "":
			published.Reason, published.Message = ReasonInvalidClaim, export.claimConflict
		default:
			published.Reason, published.Message = ReasonExportConflict, export.conflict
		}
		if schema != "" {
			published.Message += fmt.Sprintf("; the last published schema %s stays in the APIExport", schema)
		}
	case exportErr != nil:
		published.Status, published.Reason, published.Message = metav1.ConditionFalse, ReasonExportUpdateFailed, exportErr.Error()
	default:
		published.Status, published.Reason = metav1.ConditionTrue, ReasonPublished
		published.Message = fmt.Sprintf("APIResourceSchema %s is in APIExport %s", schema, r.ExportName)
	}
	return published
}
