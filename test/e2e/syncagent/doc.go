// Package syncagent tests bindery-syncagent against a real kcp and a real provider kube-apiserver:
// PublishedResources become APIResourceSchemas in an APIExport that consumers bind.
package syncagent
