package apiexport

import (
	"slices"
	"strings"
	"testing"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	conditionsv1alpha1 "github.com/kcp-dev/sdk/apis/third_party/conditions/apis/conditions/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

func slice(urls ...string) *apisv1alpha1.APIExportEndpointSlice {
	s := &apisv1alpha1.APIExportEndpointSlice{}
	for _, u := range urls {
		s.Status.APIExportEndpoints = append(s.Status.APIExportEndpoints, apisv1alpha1.APIExportEndpoint{URL: u})
	}
	return s
}

func TestEndpointURLs(t *testing.T) {
	identity := func(u string) string { return u }
	toProxy := func(u string) string { return strings.Replace(u, "https://shard-1:6443", "https://proxy:443", 1) }
	for _, tc := range []struct {
		name    string
		slice   *apisv1alpha1.APIExportEndpointSlice
		rewrite func(string) string
		want    []string
	}{
		{"no binding yet", slice(), identity, nil},
		{"one shard", slice("https://shard-1:6443/services/apiexport/x/e"), identity, []string{"https://shard-1:6443/services/apiexport/x/e"}},
		{"two shards keep order", slice("https://b/e", "https://a/e"), identity, []string{"https://b/e", "https://a/e"}},
		{"duplicates collapse", slice("https://a/e", "https://a/e"), identity, []string{"https://a/e"}},
		{"rewritten to a front-proxy", slice("https://shard-1:6443/services/apiexport/x/e"), toProxy, []string{"https://proxy:443/services/apiexport/x/e"}},
		{"rewrite may drop an endpoint", slice("https://a/e", "https://b/e"), func(u string) string {
			if strings.HasPrefix(u, "https://b") {
				return ""
			}
			return u
		}, []string{"https://a/e"}},
	} {
		if got := EndpointURLs(tc.slice, tc.rewrite); !slices.Equal(got, tc.want) {
			t.Errorf("%s: EndpointURLs = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIsReadyAPIBinding(t *testing.T) {
	binding := func(status corev1.ConditionStatus) *apisv1alpha2.APIBinding {
		b := &apisv1alpha2.APIBinding{}
		if status != "" {
			b.Status.Conditions = conditionsv1alpha1.Conditions{{Type: conditionsv1alpha1.ReadyCondition, Status: status}}
		}
		return b
	}
	if !IsReadyAPIBinding(binding(corev1.ConditionTrue)) {
		t.Error("a binding with Ready=True must engage")
	}
	if IsReadyAPIBinding(binding(corev1.ConditionFalse)) || IsReadyAPIBinding(binding("")) {
		t.Error("a binding without Ready=True must not engage")
	}
	if !IsReadyAPIBinding(&corev1alpha1.LogicalCluster{}) {
		t.Error("other watched kinds engage by their presence")
	}
}

func TestNewRequiresSliceName(t *testing.T) {
	if _, err := New(nil, "", Options{}); err == nil {
		t.Fatal("New without an endpoint slice name must fail")
	}
}
