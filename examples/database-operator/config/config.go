package config

import _ "embed"

// CRD is crd.yaml: the CustomResourceDefinition of databases.db.provider.example.
//
//go:embed crd.yaml
var CRD []byte

// Sample is sample.yaml: a Database named orders, without a namespace.
//
//go:embed sample.yaml
var Sample []byte

// RBAC is rbac.yaml: the ServiceAccount database-operator-system/database-operator and the
// (Cluster)Roles it needs.
//
//go:embed rbac.yaml
var RBAC []byte
