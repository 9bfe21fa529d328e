package consumers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/services"
)

// Errors of Bind that are the request's, not the provider's.
var (
	// ErrServiceNotFound: the Service to bind does not exist.
	ErrServiceNotFound = errors.New("Service not found")
	// ErrIdentityMismatch: the Consumer of that name belongs to another issuer or subject.
	ErrIdentityMismatch = errors.New("the Consumer of this name belongs to another identity")
	// ErrConsumerDeleting: the Consumer is being revoked; a bind can follow once it is gone.
	ErrConsumerDeleting = errors.New("the Consumer is being deleted")
)

// DefaultTokenTTL is the lifetime of a credential unless the Provisioner or the caller say otherwise.
const DefaultTokenTTL = time.Hour

// Provisioner binds Services for authenticated users and issues their credentials. The zero
// value of every field but Client has a default.
type Provisioner struct {
	// Client reads and writes the provider cluster. It should read from the API server, not a
	// cache, so that a Bind sees what the one just before it wrote.
	Client client.Client
	// APIs finds the APIs the Services' PublishedResources name (default: the CRDs read through
	// Client); a backend serving a kcp workspace finds the workspace's bound APIs.
	APIs services.APIs
	// Config is the provider cluster's config, where ServerURL and CAData default from.
	Config *rest.Config
	// ServerURL is the provider cluster's kube-apiserver as consumers reach it, for the
	// kubeconfigs Credential returns. Default: Config's host.
	ServerURL string
	// CAData verifies ServerURL's serving certificate. Default: Config's CA.
	CAData []byte
	// TokenTTL is the lifetime of a credential when Credential is asked for 0. Default: DefaultTokenTTL.
	TokenTTL time.Duration
	// Recorder, if set, records an event on the Consumer when a Bind changes its Ready condition.
	Recorder record.EventRecorder
	// OpaqueNames names new Consumers, and so their namespaces, by OpaqueName (no username): for
	// a reseller, whose Consumer namespaces' names reach its own provider. A Consumer made
	// before under the other rule keeps its name and is found by the next bind.
	OpaqueNames bool
}

func (p *Provisioner) access() access { return access{client: p.Client, apis: p.APIs} }

// server returns ServerURL and CAData, or their defaults.
func (p *Provisioner) server() (string, []byte, error) {
	url, ca := p.ServerURL, p.CAData
	if url == "" && p.Config != nil {
		url = p.Config.Host
	}
	if url == "" {
		return "", nil, errors.New("the Provisioner has neither ServerURL nor Config: where do consumers reach the provider?")
	}
	if len(ca) == 0 && p.Config != nil {
		ca = p.Config.CAData
		if len(ca) == 0 && p.Config.CAFile != "" {
			var err error
			if ca, err = os.ReadFile(p.Config.CAFile); err != nil {
				return "", nil, fmt.Errorf("reading the provider's CA: %w", err)
			}
		}
	}
	return url, ca, nil
}

// Bind binds the Service for the user's consumer cluster. The Service is resolved first: if it
// is missing (ErrServiceNotFound) or cannot be bound (a *services.Error), nothing is created.
// Then the Consumer is found or created, the Service added to its spec.services, and its
// namespace, ServiceAccount, Role and RoleBinding provisioned before Bind returns. identity must
// be what the issuer vouched for, never what a client sent.
func (p *Provisioner) Bind(ctx context.Context, identity bindv1alpha1.ConsumerIdentity, cluster bindv1alpha1.ConsumerCluster, serviceName string) (*bindv1alpha1.Consumer, *services.Resolved, error) {
	svc := &bindv1alpha1.Service{}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: serviceName}, svc); apierrors.IsNotFound(err) {
		return nil, nil, fmt.Errorf("binding Service %s: %w", serviceName, ErrServiceNotFound)
	} else if err != nil {
		return nil, nil, fmt.Errorf("binding Service %s: reading it: %w", serviceName, err)
	}
	resolved, err := services.Resolve(ctx, p.Client, p.APIs, svc)
	if err != nil {
		return nil, nil, fmt.Errorf("binding Service %s: %w", serviceName, err)
	}
	consumer, err := p.consumerFor(ctx, identity, cluster, serviceName)
	if err != nil {
		return nil, nil, fmt.Errorf("binding Service %s: %w", serviceName, err)
	}
	if err := p.provisionAndReport(ctx, consumer); err != nil {
		return nil, nil, fmt.Errorf("binding Service %s: %w", serviceName, err)
	}
	return consumer, resolved, nil
}

// provisionAndReport provisions the Consumer's access and writes its status (also when
// provisioning failed), reading the Consumer again when the Reconciler wrote in between.
func (p *Provisioner) provisionAndReport(ctx context.Context, consumer *bindv1alpha1.Consumer) error {
	first := true
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			if err := p.Client.Get(ctx, client.ObjectKeyFromObject(consumer), consumer); err != nil {
				return err
			}
		}
		first = false
		ready, err := p.access().provision(ctx, consumer)
		if reportErr := p.access().report(ctx, consumer, ready, p.Recorder); reportErr != nil {
			return reportErr
		}
		return err
	})
}

// consumerFor returns the Consumer of the user's cluster with the Service in spec.services,
// creating it (with the revoking finalizer) or adding the Service.
func (p *Provisioner) consumerFor(ctx context.Context, identity bindv1alpha1.ConsumerIdentity, cluster bindv1alpha1.ConsumerCluster, serviceName string) (*bindv1alpha1.Consumer, error) {
	// A Consumer made under the other naming rule (before OpaqueNames was switched) is found
	// again, so that switching never leaves a cluster with two Consumers.
	name, other := Name(identity, cluster.ID), OpaqueName(identity, cluster.ID)
	if p.OpaqueNames {
		name, other = other, name
	}
	consumer := &bindv1alpha1.Consumer{}
	err := retry.OnError(retry.DefaultRetry, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, func() error {
		err := p.Client.Get(ctx, client.ObjectKey{Name: name}, consumer)
		if apierrors.IsNotFound(err) {
			err = p.Client.Get(ctx, client.ObjectKey{Name: other}, consumer)
		}
		if apierrors.IsNotFound(err) {
			consumer = newConsumer(name, identity, cluster, serviceName)
			return p.Client.Create(ctx, consumer)
		}
		if err != nil {
			return err
		}
		return p.addService(ctx, consumer, identity, cluster, serviceName)
	})
	if err != nil {
		return nil, fmt.Errorf("Consumer %s: %w", name, err)
	}
	return consumer, nil
}

func newConsumer(name string, identity bindv1alpha1.ConsumerIdentity, cluster bindv1alpha1.ConsumerCluster, serviceName string) *bindv1alpha1.Consumer {
	return &bindv1alpha1.Consumer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: []string{Finalizer}},
		Spec: bindv1alpha1.ConsumerSpec{
			Identity: identity, Cluster: cluster,
			Services: []bindv1alpha1.BoundService{{Name: serviceName}},
		},
	}
}

// addService adds the Service to an existing Consumer after checking that it is this user's,
// and keeps the names people read (username, display name, cluster name) current.
func (p *Provisioner) addService(ctx context.Context, consumer *bindv1alpha1.Consumer, identity bindv1alpha1.ConsumerIdentity, cluster bindv1alpha1.ConsumerCluster, serviceName string) error {
	// The name hashes issuer, subject and cluster ID; this is defence in depth against a collision.
	current := consumer.Spec.Identity
	if current.Issuer != identity.Issuer || current.Subject != identity.Subject || consumer.Spec.Cluster.ID != cluster.ID {
		return ErrIdentityMismatch
	}
	if consumer.DeletionTimestamp != nil {
		return ErrConsumerDeleting
	}
	before := consumer.DeepCopy()
	consumer.Spec.Identity, consumer.Spec.Cluster = identity, cluster
	if !hasService(consumer, serviceName) {
		consumer.Spec.Services = append(consumer.Spec.Services, bindv1alpha1.BoundService{Name: serviceName})
	}
	controllerutil.AddFinalizer(consumer, Finalizer)
	if equality.Semantic.DeepEqual(before.Spec, consumer.Spec) && slices.Equal(before.Finalizers, consumer.Finalizers) {
		return nil
	}
	return p.Client.Update(ctx, consumer)
}

// Credential issues a token for the Consumer's ServiceAccount that lasts ttl (TokenTTL for 0;
// the API server may shorten it) and returns it as a kubeconfig for ServerURL
// whose context's namespace is the Consumer's, with the time it expires.
func (p *Provisioner) Credential(ctx context.Context, consumer *bindv1alpha1.Consumer, ttl time.Duration) ([]byte, time.Time, error) {
	ttl = cmp.Or(ttl, p.TokenTTL, DefaultTokenTTL)
	serverURL, ca, err := p.server()
	if err != nil {
		return nil, time.Time{}, err
	}
	namespace := NamespaceName(consumer.Name)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ServiceAccountName, Namespace: namespace}}
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(ttl / time.Second)),
	}}
	if err := p.Client.SubResource("token").Create(ctx, sa, request); err != nil {
		return nil, time.Time{}, fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, ServiceAccountName, err)
	}
	kubeconfig, err := clientcmd.Write(kubeconfig(serverURL, ca, consumer.Name, namespace, request.Status.Token))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("writing the kubeconfig of Consumer %s: %w", consumer.Name, err)
	}
	return kubeconfig, request.Status.ExpirationTimestamp.Time, nil
}

// kubeconfig has one context, named after the Consumer, for the provider and the token.
func kubeconfig(serverURL string, ca []byte, name, namespace, token string) clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: namespace}
	cfg.CurrentContext = name
	return *cfg
}
