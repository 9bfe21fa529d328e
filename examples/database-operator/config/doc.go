// Package config holds the example database operator's manifests and embeds them, so that the
// operator can install its own CRD (--install-crd) and tests can read them from anywhere:
// crd.yaml (the Database API), sample.yaml (a Database to try) and rbac.yaml (the permissions the
// operator needs as a ServiceAccount).
package config
