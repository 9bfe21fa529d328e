package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PublishedResource publishes one CRD of the provider cluster into kcp: the agent turns it into an
// APIResourceSchema in the APIExport it manages, and (with synchronization enabled) syncs the
// consumers' objects of that API down into the provider cluster and their status back up.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=pubres,categories=bindery
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.status.source`,description="The published CRD as kind.group"
// +kubebuilder:printcolumn:name="Published As",type=string,JSONPath=`.status.projected`,description="What consumers see, as kind.group"
// +kubebuilder:printcolumn:name="Schema",type=string,JSONPath=`.status.resourceSchemaName`,priority=1
// +kubebuilder:printcolumn:name="Agent",type=string,JSONPath=`.status.agent.name`,priority=1,description="The agent that publishes and syncs it"
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`,description="Whether the object sync runs (True also when it is disabled)"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Published and synced"
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PublishedResource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PublishedResourceSpec   `json:"spec"`
	Status PublishedResourceStatus `json:"status,omitempty"`
}

// PublishedResourceSpec says what to publish and how consumer objects are synced.
//
// The CRD it publishes and the name consumers see are fixed once it exists: every copy in the
// provider cluster is marked with the consumer-side kind and lives in the provider-side kind, so
// an edit of either would leave the copies of the old one to nobody and make new ones for the
// same consumer objects. To publish under another name, create a second PublishedResource.
//
// +kubebuilder:validation:XValidation:rule="self.resource.apiGroup == oldSelf.resource.apiGroup && self.resource.kind == oldSelf.resource.kind",message="spec.resource.apiGroup and spec.resource.kind are immutable: the copies in the provider cluster are of this CRD; create another PublishedResource to publish another CRD"
// +kubebuilder:validation:XValidation:rule="[has(self.projection) && has(self.projection.group), has(self.projection) && has(self.projection.kind), has(self.projection) && has(self.projection.scope)] == [has(oldSelf.projection) && has(oldSelf.projection.group), has(oldSelf.projection) && has(oldSelf.projection.kind), has(oldSelf.projection) && has(oldSelf.projection.scope)]",message="spec.projection.group, kind and scope are immutable: the copies in the provider cluster are marked with the published kind; create another PublishedResource to publish under another name"
type PublishedResourceSpec struct {
	// Resource is the CRD in the provider cluster to publish.
	Resource SourceResource `json:"resource"`

	// Projection renames the API for consumers, so that provider-internal names never show.
	// Unset fields keep the source's value.
	// +optional
	Projection *Projection `json:"projection,omitempty"`

	// Naming decides where the provider-side copy of a consumer object lands.
	// +optional
	Naming *Naming `json:"naming,omitempty"`

	// Filter restricts which consumer objects are synced.
	// +optional
	Filter *Filter `json:"filter,omitempty"`

	// Mutation rewrites the spec on the way down and the status on the way up.
	// +optional
	Mutation *Mutation `json:"mutation,omitempty"`

	// Related are objects that travel with each synced object, such as a credentials Secret the
	// provider's operator writes.
	// +optional
	// +listType=map
	// +listMapKey=identifier
	// +kubebuilder:validation:MaxItems=32
	Related []RelatedResource `json:"related,omitempty"`

	// Synchronization controls the object sync.
	// +optional
	Synchronization *Synchronization `json:"synchronization,omitempty"`
}

// SourceResource names a CRD served by the provider cluster.
type SourceResource struct {
	// APIGroup of the CRD, e.g. databases.internal.example.com.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	APIGroup string `json:"apiGroup"`

	// Kind of the CRD, e.g. PostgresCluster.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Z][A-Za-z0-9]*$`
	Kind string `json:"kind"`

	// Versions to publish. Default: every version the CRD serves. Each must be served.
	// +optional
	// +listType=set
	Versions []string `json:"versions,omitempty"`
}

// Projection is what consumers see instead of the provider's names. Group, Kind and Scope are
// immutable (see PublishedResourceSpec).
//
// +kubebuilder:validation:XValidation:rule="(!has(self.group) || !has(oldSelf.group) || self.group == oldSelf.group) && (!has(self.kind) || !has(oldSelf.kind) || self.kind == oldSelf.kind) && (!has(self.scope) || !has(oldSelf.scope) || self.scope == oldSelf.scope)",message="spec.projection.group, kind and scope are immutable: the copies in the provider cluster are marked with the published kind; create another PublishedResource to publish under another name"
type Projection struct {
	// Group is the API group in kcp.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Group string `json:"group,omitempty"`

	// Versions renames versions: source version -> published version, e.g. {"v1beta3": "v1"}.
	// +optional
	Versions map[string]string `json:"versions,omitempty"`

	// Kind is the published kind; the list kind and singular follow from it.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Z][A-Za-z0-9]*$`
	Kind string `json:"kind,omitempty"`

	// Plural is the published resource name (default: the lowercase kind plus "s" when Kind is
	// projected, else the source's plural).
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9]*$`
	Plural string `json:"plural,omitempty"`

	// Scope of the published resource. A namespaced source may be published cluster-scoped.
	// +optional
	Scope ResourceScope `json:"scope,omitempty"`

	// ShortNames replace the source's short names.
	// +optional
	// +listType=set
	ShortNames []string `json:"shortNames,omitempty"`

	// Categories replace the source's categories.
	// +optional
	// +listType=set
	Categories []string `json:"categories,omitempty"`
}

// ResourceScope is Namespaced or Cluster.
// +kubebuilder:validation:Enum=Namespaced;Cluster
type ResourceScope string

const (
	NamespaceScoped ResourceScope = "Namespaced"
	ClusterScoped   ResourceScope = "Cluster"
)

// Naming holds Go templates for the namespace and name of the provider-side copy. Templates see
// .ClusterName (the consumer's logical cluster), .ClusterPath (its workspace path, when known),
// and .Object (the consumer's object as a map), plus the functions shortHash, dnsLabel, lower,
// trunc and join. Results must be valid DNS labels (namespace) and DNS subdomains (name).
type Naming struct {
	// Namespace of the copy. Default: `{{ .ClusterName }}`, one namespace per consumer workspace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name of the copy. Default: the consumer object's namespace and name joined with "-" (only
	// the name for a cluster-scoped object; also the cluster name when the copy is cluster-scoped),
	// replaced by a truncated prefix plus a hash when that would be ambiguous or too long, so that
	// two consumer objects never share a copy.
	// +optional
	Name string `json:"name,omitempty"`
}

// Filter selects the consumer objects to sync; an object must match both selectors.
type Filter struct {
	// Namespace selects by the labels of the consumer object's namespace.
	// +optional
	Namespace *metav1.LabelSelector `json:"namespace,omitempty"`

	// Resource selects by the labels of the consumer object.
	// +optional
	Resource *metav1.LabelSelector `json:"resource,omitempty"`
}

// Mutation lists rewrite steps, applied in order.
type Mutation struct {
	// Spec steps rewrite the consumer's object before it is written to the provider cluster.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Spec []MutationStep `json:"spec,omitempty"`

	// Status steps rewrite the provider's status before it is written back to the consumer.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Status []MutationStep `json:"status,omitempty"`
}

// MutationStep is exactly one of delete, regex, template or cel. Paths are dot-separated field
// names from the object root (spec.database.host); a segment that is a number indexes a list.
//
// +kubebuilder:validation:XValidation:rule="[has(self.delete), has(self.regex), has(self.template), has(self.cel)].filter(x, x).size() == 1",message="set exactly one of delete, regex, template or cel"
type MutationStep struct {
	// Delete removes a field.
	// +optional
	Delete *DeleteStep `json:"delete,omitempty"`
	// Regex replaces matches in a string field.
	// +optional
	Regex *RegexStep `json:"regex,omitempty"`
	// Template sets a field to the result of a Go template.
	// +optional
	Template *TemplateStep `json:"template,omitempty"`
	// CEL sets a field to the result of a CEL expression.
	// +optional
	CEL *CELStep `json:"cel,omitempty"`
}

// DeleteStep removes the field at Path (nothing happens if it is absent).
type DeleteStep struct {
	// +kubebuilder:validation:MinLength=1
	Path string `json:"path"`
}

// RegexStep replaces every match of Pattern in the string at Path with Replacement, which may refer
// to groups as $1 or ${name}.
type RegexStep struct {
	// +kubebuilder:validation:MinLength=1
	Path string `json:"path"`
	// +kubebuilder:validation:MinLength=1
	Pattern     string `json:"pattern"`
	Replacement string `json:"replacement"`
}

// TemplateStep sets the field at Path to the output of a Go template, which sees .Object (the
// object being mutated), .ClusterName and .ClusterPath.
type TemplateStep struct {
	// +kubebuilder:validation:MinLength=1
	Path string `json:"path"`
	// +kubebuilder:validation:MinLength=1
	Template string `json:"template"`
}

// CELStep sets the field at Path to the value of a CEL expression over `self` (the object being
// mutated) and `clusterName`.
type CELStep struct {
	// +kubebuilder:validation:MinLength=1
	Path string `json:"path"`
	// +kubebuilder:validation:MinLength=1
	Expression string `json:"expression"`
}

// RelatedOrigin says on which side a related object is the source of truth.
// +kubebuilder:validation:Enum=provider;consumer
type RelatedOrigin string

const (
	// OriginProvider objects are written by the provider (a credentials Secret) and copied to the
	// consumer's workspace.
	OriginProvider RelatedOrigin = "provider"
	// OriginConsumer objects are written by the consumer and copied to the provider cluster.
	OriginConsumer RelatedOrigin = "consumer"
)

// RelatedResource is a kind of object that travels with each synced object.
//
// +kubebuilder:validation:XValidation:rule="[has(self.object.reference), has(self.object.template), has(self.object.selector)].filter(x, x).size() == 1",message="object: set exactly one of reference, template or selector"
type RelatedResource struct {
	// Identifier names this entry in events, conditions and annotations.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Identifier string `json:"identifier"`

	// Origin is the side that owns the related object.
	Origin RelatedOrigin `json:"origin"`

	// Group, Version and Resource of the related objects in the provider cluster, e.g. "", "v1",
	// "secrets".
	// +optional
	Group string `json:"group,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Version string `json:"version"`
	// +kubebuilder:validation:MinLength=1
	Resource string `json:"resource"`

	// Projection names the resource in kcp (default: the same group, version and resource). The
	// permission claim uses this name; when the group or resource differs, the agent finds the kind
	// in kcp through the discovery of the export's virtual workspace.
	// +optional
	Projection *RelatedProjection `json:"projection,omitempty"`

	// IdentityHash of the APIExport that serves the resource in kcp, when it is not a built-in
	// resource; the agent puts it on the permission claim.
	// +optional
	IdentityHash string `json:"identityHash,omitempty"`

	// Object finds the related object (the original) of a synced object on the origin side. Its
	// copy lands in the namespace of the primary object on the other side.
	Object RelatedObjectSelector `json:"object"`

	// Mutation rewrites the related object: spec steps the original on its way to the copy, status
	// steps the copy's status on its way back to the original (with syncStatus).
	// +optional
	Mutation *Mutation `json:"mutation,omitempty"`

	// Watch re-syncs the related object when it changes, not only when the primary object does.
	// Default: true.
	// +optional
	Watch *bool `json:"watch,omitempty"`

	// SyncStatus copies the status of the copy back to the original, after mutation.status: the
	// original is the source of truth for everything else, the copy's side reports on it.
	// Default: false.
	// +optional
	SyncStatus bool `json:"syncStatus,omitempty"`

	// Cleanup deletes the copy when the primary object is deleted. Default: true.
	// +optional
	Cleanup *bool `json:"cleanup,omitempty"`
}

// RelatedProjection is the group, version and resource of a related object in kcp.
type RelatedProjection struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	Resource string `json:"resource,omitempty"`
}

// RelatedObjectSelector finds related objects, evaluated against the primary object on the origin
// side and in its namespace (unless template.namespace names another), by exactly one of: a
// reference path, a name template, a label selector.
type RelatedObjectSelector struct {
	// Reference is a path into the primary object on the origin side whose string value is the
	// related object's name, e.g. status.credentialsSecretRef.name.
	// +optional
	Reference *ReferencePath `json:"reference,omitempty"`

	// Template computes the related object's name (and optionally its namespace on the origin
	// side) with Go templates that see .Object, .ClusterName and .ClusterPath.
	// +optional
	Template *NameTemplate `json:"template,omitempty"`

	// Selector matches related objects by label in the primary object's namespace; matchLabels
	// values are Go templates.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// ReferencePath points at a field holding a name.
type ReferencePath struct {
	// +kubebuilder:validation:MinLength=1
	Path string `json:"path"`
}

// NameTemplate computes a name and, optionally, a namespace.
type NameTemplate struct {
	// Name of the related object.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Namespace of the related object on the origin side (default: the primary object's); it must
	// render to a DNS label. The copy still lands next to the primary object on the other side.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// Synchronization controls the object sync of a PublishedResource.
type Synchronization struct {
	// Enabled syncs consumer objects; false publishes the schema only. Default: true.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// PublishedResourceStatus is the agent's view of the PublishedResource.
type PublishedResourceStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Source is the published CRD as kind.group.
	// +optional
	Source string `json:"source,omitempty"`

	// Projected is what consumers see, as kind.group.
	// +optional
	Projected string `json:"projected,omitempty"`

	// ResourceSchemaName is the APIResourceSchema in kcp that holds the published API.
	// +optional
	ResourceSchemaName string `json:"resourceSchemaName,omitempty"`

	// Agent is the agent that publishes this PublishedResource and syncs its objects: the first
	// agent that selected it, until that agent is gone for good (its presence Lease expired) or
	// no longer selects it. Other agents that select it leave it alone.
	// +optional
	Agent *AgentReference `json:"agent,omitempty"`

	// Contenders are the other agents that select this PublishedResource too, and leave it alone;
	// the AgentConflict condition says why and what to do.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	// +listMapKey=name
	Contenders []AgentContender `json:"contenders,omitempty"`

	// Conditions: SchemaPublished says whether the schema is in the APIExport; Synced says
	// whether the object sync runs; Ready is True when both are, else it has the reason of the
	// first that is not.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AgentReference names a bindery-syncagent by its --agent-name and its --namespace in the
// provider cluster, where its presence Lease is.
type AgentReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
}

// AgentContender is an agent that selects a PublishedResource and leaves it to another agent.
type AgentContender struct {
	AgentReference `json:",inline"`
	// DefersTo is the agent it leaves the PublishedResource to: status.agent, or an older agent
	// with the same name.
	DefersTo AgentReference `json:"defersTo"`
}

// Condition types of a PublishedResource.
const (
	ConditionReady           = "Ready"
	ConditionSchemaPublished = "SchemaPublished"
	ConditionSynced          = "Synced"
	// ConditionAgentConflict is True while another agent selects the PublishedResource too.
	ConditionAgentConflict = "AgentConflict"
	// ConditionConsumersReachable is False while the export's virtual workspace on some shard
	// does not answer the agent: consumers there are not synced until it does, the others are.
	ConditionConsumersReachable = "ConsumersReachable"
)

// PublishedResourceList is a list of PublishedResources.
//
// +kubebuilder:object:root=true
type PublishedResourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PublishedResource `json:"items"`
}
