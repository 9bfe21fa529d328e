// Package mutation compiles and applies the mutation steps of a PublishedResource (delete,
// regex, template and CEL steps) to unstructured objects. The syncagent compiles a
// PublishedResource's steps once when it reconciles it, reporting every invalid step under its
// exact field path (Validate) so that users see all mistakes in one status condition; the sync
// engine then applies the compiled Program to each object on its way between consumer and
// provider. Steps address fields with dot-separated paths (ParsePath), which the sync engine can
// reuse for other path-valued fields, such as related object references.
package mutation
