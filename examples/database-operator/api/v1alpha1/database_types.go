package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Engine is a database engine the provider runs.
// +kubebuilder:validation:Enum=postgres;mysql
type Engine string

const (
	// EnginePostgres is PostgreSQL, served on port 5432.
	EnginePostgres Engine = "postgres"
	// EngineMySQL is MySQL, served on port 3306.
	EngineMySQL Engine = "mysql"
)

// DatabasePhase is a one-word summary of a Database's state, for humans and printer columns;
// programs should read the Ready condition instead.
// +kubebuilder:validation:Enum=Provisioning;Ready;Deleting
type DatabasePhase string

const (
	// PhaseProvisioning means the database is not usable yet.
	PhaseProvisioning DatabasePhase = "Provisioning"
	// PhaseReady means the database serves at status.endpoint with the credentials in
	// status.credentialsSecretRef.
	PhaseReady DatabasePhase = "Ready"
	// PhaseDeleting means the Database was deleted and its resources are being released.
	PhaseDeleting DatabasePhase = "Deleting"
)

// ConditionReady is the condition type that says whether the database can be used.
const ConditionReady = "Ready"

// Reasons of the Ready condition.
const (
	// ReasonProvisioned: the database and its credentials exist (Ready is True).
	ReasonProvisioned = "Provisioned"
	// ReasonProvisioning: the operator is still creating the database, e.g. retrying after an
	// error the message names (Ready is False).
	ReasonProvisioning = "Provisioning"
	// ReasonUnsupportedEngine: the operator does not run spec.engine (Ready is False).
	ReasonUnsupportedEngine = "UnsupportedEngine"
	// ReasonCredentialsConflict: a Secret with the credentials' name exists but belongs to someone
	// else; the operator leaves it alone (Ready is False).
	ReasonCredentialsConflict = "CredentialsConflict"
	// ReasonDeleting: the Database was deleted (Ready is False).
	ReasonDeleting = "Deleting"
)

// DatabaseSpec is the database the user asks for.
type DatabaseSpec struct {
	// Engine is the database engine. It cannot be changed once the database exists.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="engine is immutable"
	// +required
	Engine Engine `json:"engine"`

	// Version of the engine, e.g. "16" for postgres or "8.4" for mysql; empty means the
	// provider's current default.
	// +optional
	Version string `json:"version,omitempty"`

	// StorageGB is the size of the database's volume in gigabytes.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=10
	// +optional
	StorageGB int32 `json:"storageGB,omitempty"`

	// BackupSchedule is when the provider backs the database up, in cron syntax (e.g. "0 3 * * *").
	// It is an internal setting of the provider, not meant for consumers; a PublishedResource can
	// keep consumers from setting it with a mutation.
	// +optional
	BackupSchedule string `json:"backupSchedule,omitempty"`
}

// DatabaseStatus is what the operator observed and provisioned.
type DatabaseStatus struct {
	// Phase summarizes the state: Provisioning, Ready or Deleting.
	// +optional
	Phase DatabasePhase `json:"phase,omitempty"`

	// Endpoint is where clients connect, as host:port.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// CredentialsSecretRef names the Secret, in the Database's namespace, that holds the keys
	// username, password, host, port and engine.
	// +optional
	CredentialsSecretRef *SecretReference `json:"credentialsSecretRef,omitempty"`

	// ObservedGeneration is the metadata.generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions are the observed conditions; Ready says whether the database can be used.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SecretReference names a Secret in the same namespace.
type SecretReference struct {
	// Name of the Secret.
	// +required
	Name string `json:"name"`
}

// Database is a database run by the provider. The operator creates it, reports its endpoint, and
// puts its credentials into a Secret next to it. Its name must be a DNS label, as it is part of
// the database's host name.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && self.metadata.name.size() <= 63",message="metadata.name must be a DNS label (lowercase letters, digits and '-', at most 63 characters) because it becomes part of the database's host name"
// +kubebuilder:resource:shortName=db
// +kubebuilder:printcolumn:name="Engine",type=string,JSONPath=`.spec.engine`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Database struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DatabaseSpec   `json:"spec"`
	Status DatabaseStatus `json:"status,omitempty"`
}

// DatabaseList is a list of Databases.
//
// +kubebuilder:object:root=true
type DatabaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Database `json:"items"`
}
