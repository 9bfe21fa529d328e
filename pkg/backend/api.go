package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/consumers"
	"github.com/bindery-dev/bindery/pkg/services"
)

func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	sess, err := s.bearerSession(r)
	if err != nil {
		s.writeAPIError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, sess.User)
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	sess, err := s.bearerSession(r)
	if err != nil {
		s.writeAPIError(w, r, err, "")
		return
	}
	list, err := s.bindable(r.Context(), sess.User)
	if err != nil {
		s.writeAPIError(w, r, err, sess.User.Username)
		return
	}
	writeJSON(w, http.StatusOK, bindprotocol.ServiceList{Items: list})
}

// bindable returns the Services the user may bind, by name, with whether each is available.
func (s *Server) bindable(ctx context.Context, u bindprotocol.User) ([]bindprotocol.Service, error) {
	var all bindv1alpha1.ServiceList
	if err := s.reader.List(ctx, &all); err != nil {
		return nil, fmt.Errorf("listing Services: %w", err)
	}
	items := []bindprotocol.Service{}
	for i := range all.Items {
		svc := &all.Items[i]
		err := s.authz.mayBind(ctx, u, svc.Name)
		var denied *denial
		if errors.As(err, &denied) {
			continue
		}
		if err != nil {
			return nil, err
		}
		items = append(items, describe(svc))
	}
	slices.SortFunc(items, func(a, b bindprotocol.Service) int { return strings.Compare(a.Title+a.Name, b.Title+b.Name) })
	return items, nil
}

// describe is a Service as the page and the CLI show it.
func describe(svc *bindv1alpha1.Service) bindprotocol.Service {
	out := bindprotocol.Service{Name: svc.Name, Title: svc.Spec.Title, Description: svc.Spec.Description}
	for _, r := range svc.Status.Resources {
		out.Resources = append(out.Resources, bindprotocol.Resource{Group: r.Group, Resource: r.Resource, Kind: r.Kind, Versions: r.Versions})
	}
	ready := meta.FindStatusCondition(svc.Status.Conditions, bindv1alpha1.ServiceConditionReady)
	switch {
	case ready == nil || ready.ObservedGeneration != svc.Generation:
		out.Problem = "the provider's backend has not checked this Service yet"
	case ready.Status != "True":
		out.Problem = ready.Message
	default:
		out.Available = true
	}
	return out
}

func (s *Server) bind(w http.ResponseWriter, r *http.Request) {
	sess, err := s.bearerSession(r)
	if err != nil {
		s.writeAPIError(w, r, err, "")
		return
	}
	var req bindprotocol.BindRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		s.writeAPIError(w, r, &apiError{status: http.StatusBadRequest, reason: bindprotocol.ReasonInvalidRequest,
			message: "the body is not a JSON BindRequest: " + err.Error()}, sess.User.Username)
		return
	}
	resp, err := s.bindService(r.Context(), sess.User, r.PathValue("service"), req)
	if err != nil {
		s.writeAPIError(w, r, err, sess.User.Username)
		return
	}
	s.log.Info("bound", "user", sess.User.Username, "service", r.PathValue("service"), "consumer", resp.Consumer, "cluster", req.Cluster.ID)
	writeJSON(w, http.StatusOK, resp)
}

// bindService checks the request and the user's right, then binds. The order matters: nothing is
// created before every check has passed, and whether a Service exists is told only to users who
// may bind it.
func (s *Server) bindService(ctx context.Context, u bindprotocol.User, name string, req bindprotocol.BindRequest) (*bindprotocol.BindResponse, error) {
	if err := validateBindRequest(req); err != nil {
		return nil, err
	}
	if err := s.authz.mayBind(ctx, u, name); err != nil {
		return nil, err
	}
	var svc bindv1alpha1.Service
	if err := s.reader.Get(ctx, types.NamespacedName{Name: name}, &svc); apierrors.IsNotFound(err) {
		return nil, &apiError{status: http.StatusNotFound, reason: bindprotocol.ReasonServiceNotFound,
			message: fmt.Sprintf("there is no Service %q at this backend; list the Services you may bind on %s or with kubectl bindery bind %s", name, s.opts.ExternalURL, s.opts.ExternalURL)}
	} else if err != nil {
		return nil, fmt.Errorf("reading Service %q: %w", name, err)
	}
	identity := bindv1alpha1.ConsumerIdentity{Issuer: u.Issuer, Subject: u.Subject, Username: u.Username, DisplayName: u.DisplayName}
	cluster := bindv1alpha1.ConsumerCluster{ID: req.Cluster.ID, Name: req.Cluster.Name}
	consumer, resolved, err := s.binder.Bind(ctx, identity, cluster, name)
	if err != nil {
		return nil, bindError(name, err)
	}
	kubeconfig, expires, err := s.binder.Credential(ctx, consumer, s.opts.CredentialTTL)
	if err != nil {
		return nil, fmt.Errorf("issuing a credential for Consumer %s: %w", consumer.Name, err)
	}
	return &bindprotocol.BindResponse{
		Consumer:       consumer.Name,
		Namespace:      consumer.Status.Namespace,
		ServiceAccount: consumer.Status.ServiceAccount,
		Kubeconfig:     kubeconfig,
		ExpiresAt:      expires,
		CRDs:           resolved.CRDs(),
		Resources:      resolved.BoundResources(),
	}, nil
}

func validateBindRequest(req bindprotocol.BindRequest) error {
	invalid := func(field, msg string) error {
		return &apiError{status: http.StatusBadRequest, reason: bindprotocol.ReasonInvalidRequest, field: field, message: field + ": " + msg}
	}
	switch id := req.Cluster.ID; {
	case id == "":
		return invalid("cluster.id", "required: the UID of the consumer cluster's kube-system namespace")
	case len(id) > 128:
		return invalid("cluster.id", "at most 128 characters")
	case len(req.Cluster.Name) > 253:
		return invalid("cluster.name", "at most 253 characters")
	}
	return nil
}

// bindError tells a user why a Service cannot be bound: a problem on the provider's side that the
// provider must fix, in the words pkg/services found for it.
func bindError(service string, err error) error {
	if problem, ok := services.AsError(err); ok {
		return &apiError{status: http.StatusConflict, reason: bindprotocol.ReasonServiceNotReady,
			message: fmt.Sprintf("the Service %q cannot be bound right now: %s; this is for the provider to fix, tell them", service, problem.Error())}
	}
	switch {
	case errors.Is(err, consumers.ErrServiceNotFound):
		return &apiError{status: http.StatusNotFound, reason: bindprotocol.ReasonServiceNotFound,
			message: fmt.Sprintf("the Service %q was deleted just now", service)}
	case errors.Is(err, consumers.ErrConsumerDeleting):
		return &apiError{status: http.StatusConflict, reason: bindprotocol.ReasonConsumerDeleting,
			message: "the provider is revoking your Consumer for this cluster; bind again once it is gone (usually seconds), or ask the provider why it was revoked"}
	}
	return fmt.Errorf("binding Service %q: %w", service, err)
}
