package konnector

import (
	"context"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/consumers"
)

// tokenLifetime is what a renewal asks for; the provider's API server may shorten it.
const tokenLifetime = time.Hour

// connect is the credential phase: it reads the binding's Secret and returns its connection,
// built on first use and replaced when the credential leads to another server or CA. The token
// in use and the Secret's are brought in line. A nil connection ends the pass (the credential is
// missing: the Secret's watch brings the binding back).
func (r *Reconciler) connect(ctx, runCtx context.Context, p *pass) (*connection, error) {
	b := p.binding
	secret, cred, err := r.readCredential(ctx, b)
	if err != nil {
		p.set(credentialMissing(b, err))
		if r.connection(b.Name) == nil {
			p.set(notSyncing(b, ReasonPending, "no credential to reach the provider with"))
		}
		return nil, nil
	}
	conn := r.connection(b.Name)
	if conn != nil && (conn.endpoint != cred.endpoint() || conn.namespace != b.Spec.ProviderNamespace) {
		r.Log.Info("the credential leads to another server or CA now; reconnecting", "binding", b.Name)
		r.disconnect(b.Name)
		conn = nil
	}
	if conn == nil {
		if conn, err = newConnection(runCtx, b.Name, b.Spec.ProviderNamespace, cred, r.connectionOptions()); err != nil {
			p.set(credentialMissing(b, err))
			return nil, nil
		}
		r.mu.Lock()
		r.connections[b.Name] = conn
		r.mu.Unlock()
	}
	return conn, r.alignToken(ctx, conn, secret, cred.token)
}

// connection returns a binding's connection, or nil.
func (r *Reconciler) connection(binding string) *connection {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connections[binding]
}

// readCredential reads and parses the binding's credential Secret.
func (r *Reconciler) readCredential(ctx context.Context, b *bindv1alpha1.ServiceBinding) (*corev1.Secret, credential, error) {
	ref := b.Spec.CredentialSecret
	secret := &corev1.Secret{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
		return nil, credential{}, err
	}
	kubeconfig, ok := secret.Data[bindv1alpha1.CredentialKubeconfigKey]
	if !ok {
		return nil, credential{}, errors.New("the Secret has no such key")
	}
	cred, err := parseCredential(kubeconfig)
	return secret, cred, err
}

// alignToken takes a newer token from the Secret (a new bind), or writes the token in use into
// the Secret when it is the newer one (a renewal whose write failed).
func (r *Reconciler) alignToken(ctx context.Context, conn *connection, secret *corev1.Secret, fromSecret token) error {
	held := conn.bearer.load()
	switch {
	case fromSecret.newer(held.token):
		conn.bearer.store(fromSecret)
		return nil
	case held.value != fromSecret.value:
		// A conflict means the Secret changed since the cached read (this konnector's own
		// write, usually): the next pass compares again.
		if err := r.writeToken(ctx, secret, held.value); err != nil && !apierrors.IsConflict(err) {
			return err
		}
	}
	return nil
}

// writeToken puts a token into the credential Secret's kubeconfig, guarded by the Secret's
// resourceVersion: a concurrent new bind wins, and its token is taken at the next pass.
func (r *Reconciler) writeToken(ctx context.Context, secret *corev1.Secret, value string) error {
	kubeconfig, err := withToken(secret.Data[bindv1alpha1.CredentialKubeconfigKey], value)
	if err != nil {
		return fmt.Errorf("credential Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	patch := client.MergeFromWithOptions(secret.DeepCopy(), client.MergeFromWithOptimisticLock{})
	secret.Data[bindv1alpha1.CredentialKubeconfigKey] = kubeconfig
	if err := r.Client.Patch(ctx, secret, patch); err != nil {
		return fmt.Errorf("writing the renewed token into credential Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	return nil
}

// probe is the connected phase: a cheap authenticated read. A refused credential stops the
// binding's connection and units (the objects stay) and ends the pass; an unreachable provider
// ends it with an error, retried with backoff, while the units keep their last state.
func (r *Reconciler) probe(ctx context.Context, p *pass, conn *connection) (bool, error) {
	b := p.binding
	probeCtx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	err := conn.direct.List(probeCtx, &bindv1alpha1.BoundAPIList{}, client.InNamespace(conn.namespace), client.Limit(1))
	p.set(connectedCondition(b, err))
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsUnauthorized(err):
		r.revoked(p)
		return false, nil
	default:
		return false, fmt.Errorf("reaching the provider for ServiceBinding %s: %w", b.Name, err)
	}
}

// revoked stops a binding whose credential the provider refuses.
func (r *Reconciler) revoked(p *pass) {
	b := p.binding
	if r.disconnect(b.Name) != nil {
		r.Log.Info("the provider refused the credential; stopped the sync", "binding", b.Name)
	}
	p.set(metav1.Condition{
		Type: bindv1alpha1.BindingConditionConnected, ObservedGeneration: b.Generation, Status: metav1.ConditionFalse,
		Reason: bindv1alpha1.BindingReasonRevoked, Message: revokedMessage(b.Spec.Backend),
	})
	p.set(notSyncing(b, bindv1alpha1.BindingReasonSyncFailed, "the provider refused the credential (the objects stay as they are)"))
	p.after(revokedRecheck)
}

// renewIfDue renews the token when its renewal time has come and writes it into the Secret;
// credentialExpiresAt follows. A refused renewal is a revocation (false ends the pass); any other
// failure is reported and retried soon, with the current token still in use.
func (r *Reconciler) renewIfDue(ctx context.Context, p *pass, conn *connection) bool {
	b := p.binding
	defer func() { p.status.CredentialExpiresAt = expiresAt(conn.bearer.load().token) }()
	held := conn.bearer.load()
	due, ok := held.renewalTime(held.obtained)
	if !ok {
		return true
	}
	if wait := time.Until(due); wait > 0 {
		p.after(wait)
		return true
	}
	renewed, err := conn.renew(ctx)
	if err != nil {
		renewals.WithLabelValues("failure").Inc()
		r.Recorder.Eventf(b, corev1.EventTypeWarning, "CredentialRenewalFailed", "renewing the provider credential (it expires at %s): %v", formatTime(held.expires), err)
		if apierrors.IsUnauthorized(err) {
			r.revoked(p)
			return false
		}
		p.after(renewRetry)
		return true
	}
	renewals.WithLabelValues("success").Inc()
	r.Recorder.Eventf(b, corev1.EventTypeNormal, "CredentialRenewed", "renewed the provider credential; it expires at %s", formatTime(renewed.expires))
	if next, ok := renewed.renewalTime(time.Now()); ok {
		p.after(time.Until(next))
	}
	if err := r.persistToken(ctx, b, renewed.value); err != nil {
		r.Log.Error(err, "the renewed token is in use but not in the Secret yet; writing it again at the next pass", "binding", b.Name)
		p.after(renewRetry)
	}
	return true
}

// persistToken writes a renewed token into the credential Secret, read afresh: the cached Secret
// may be behind an earlier write of this konnector.
func (r *Reconciler) persistToken(ctx context.Context, b *bindv1alpha1.ServiceBinding, value string) error {
	ref := b.Spec.CredentialSecret
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
		return fmt.Errorf("reading credential Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	return r.writeToken(ctx, secret, value)
}

// renew asks the provider for a new token of the Consumer's ServiceAccount, showing the current
// one (the Consumer's Role lets it create tokens for that ServiceAccount only), and puts it in use.
func (c *connection) renew(ctx context.Context) (token, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: consumers.ServiceAccountName}}
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(tokenLifetime / time.Second)),
	}}
	if err := c.direct.SubResource("token").Create(ctx, sa, request); err != nil {
		return token{}, fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", c.namespace, consumers.ServiceAccountName, err)
	}
	t := tokenOf(request.Status.Token)
	if t.expires.IsZero() {
		t.expires = request.Status.ExpirationTimestamp.Time
	}
	c.bearer.store(t)
	return t, nil
}

func expiresAt(t token) *metav1.Time {
	if t.expires.IsZero() {
		return nil
	}
	return &metav1.Time{Time: t.expires}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}
