package controller

import (
	"crypto/rand"
	"fmt"
	"maps"
	"net"
	"strconv"

	"k8s.io/apimachinery/pkg/labels"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
)

// Finalizer keeps a Database until its credentials Secret is deleted.
const Finalizer = "db.provider.example/cleanup"

// Labels on the credentials Secrets. The operator caches only Secrets labelled managed-by it, so
// it does not hold every Secret of the cluster in memory.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagerName    = "database-operator"
	// LabelDatabase names the Database a Secret belongs to. Database names are DNS labels (the
	// CRD says so), so they are always valid label values.
	LabelDatabase = "db.provider.example/database"
)

// Keys of the credentials Secret. Clients of the database read these; their names are API.
const (
	KeyUsername = "username"
	KeyPassword = "password"
	KeyHost     = "host"
	KeyPort     = "port"
	KeyEngine   = "engine"
)

// defaultUsername is the user a new database is created with.
const defaultUsername = "admin"

// hostDomain is the DNS domain under which the provider serves its databases.
const hostDomain = "db.provider.example"

// ManagedSecrets selects the Secrets this operator manages.
func ManagedSecrets() labels.Selector {
	return labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagerName})
}

// SecretName is the name of a Database's credentials Secret, in the Database's namespace.
func SecretName(db *dbv1alpha1.Database) string { return db.Name + "-credentials" }

// Port returns the port an engine serves on, and false for an engine the operator does not know.
func Port(engine dbv1alpha1.Engine) (int32, bool) {
	switch engine {
	case dbv1alpha1.EnginePostgres:
		return 5432, true
	case dbv1alpha1.EngineMySQL:
		return 3306, true
	default:
		return 0, false
	}
}

// Host is the DNS name of a Database: <name>.<namespace>.db.provider.example. It contains the
// namespace because Database names are unique only within one.
func Host(db *dbv1alpha1.Database) string {
	return db.Name + "." + db.Namespace + "." + hostDomain
}

// Endpoint is host:port of a Database, or an error for an engine the operator does not know.
func Endpoint(db *dbv1alpha1.Database) (string, error) {
	port, ok := Port(db.Spec.Engine)
	if !ok {
		return "", fmt.Errorf("unsupported engine %q", db.Spec.Engine)
	}
	return net.JoinHostPort(Host(db), strconv.Itoa(int(port))), nil
}

// secretLabels are the labels of a Database's credentials Secret.
func secretLabels(db *dbv1alpha1.Database) map[string]string {
	return map[string]string{LabelManagedBy: ManagerName, LabelDatabase: db.Name}
}

// credentialsData returns the content of a Database's credentials Secret, given what the Secret
// holds now (nil for a new one). The username and password are kept once they exist, because
// clients already use them: newPassword is called only when there is no password yet. Host, port
// and engine are derived from the Database and overwrite whatever the Secret says.
func credentialsData(db *dbv1alpha1.Database, existing map[string][]byte, newPassword func() string) (map[string][]byte, error) {
	port, ok := Port(db.Spec.Engine)
	if !ok {
		return nil, fmt.Errorf("unsupported engine %q", db.Spec.Engine)
	}
	data := maps.Clone(existing)
	if data == nil {
		data = map[string][]byte{}
	}
	if len(data[KeyUsername]) == 0 {
		data[KeyUsername] = []byte(defaultUsername)
	}
	if len(data[KeyPassword]) == 0 {
		data[KeyPassword] = []byte(newPassword())
	}
	data[KeyHost] = []byte(Host(db))
	data[KeyPort] = []byte(strconv.Itoa(int(port)))
	data[KeyEngine] = []byte(db.Spec.Engine)
	return data, nil
}

// randomPassword returns 26 random base32 characters (130 bits) from crypto/rand.
func randomPassword() string { return rand.Text() }
