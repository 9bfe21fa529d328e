package services

import (
	"errors"
	"fmt"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// Error is why a Service cannot be bound, for the user: a problem of the Service itself (an empty
// PublishedResource) or of one PublishedResource it selects, with the field at fault. Its
// Reason is one of the Service condition reasons of bind.bindery.dev/v1alpha1.
type Error struct {
	// Reason is the Ready condition's reason, e.g. bindv1alpha1.ServiceReasonSourceCRDNotFound.
	Reason string
	// Service is the Service's name.
	Service string
	// PublishedResource names the PublishedResource at fault; empty for a problem of the Service.
	PublishedResource string
	// Field is the path of the field at fault in that object, e.g. spec.resource.kind.
	Field string
	// Detail says what is wrong and what to do about it.
	Detail string
}

func (e *Error) Error() string {
	object := "Service " + e.Service
	if e.PublishedResource != "" {
		object = "PublishedResource " + e.PublishedResource
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", object, e.Detail)
	}
	return fmt.Sprintf("%s: %s: %s", object, e.Field, e.Detail)
}

// AsError returns the Error in err's chain, if there is one: a problem the user can fix, as
// opposed to a failure to reach the provider cluster.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func serviceError(svc *bindv1alpha1.Service, reason, fieldPath, detail string) *Error {
	return &Error{Reason: reason, Service: svc.Name, Field: fieldPath, Detail: detail}
}
